package io.stratus.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * A single-node Apache Kafka broker (KRaft: one process is broker and controller) running in this
 * JVM, for development, the all-in-one mode and tests. It is a real broker with real logs on
 * disk; only the replication factor of one sets it apart from a production cluster.
 *
 * <p>Kafka's server classes are not a public API: everything that touches them stays in this class.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(dir))) {
 *     String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EmbeddedKafkaBroker.class.getName());
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Where the broker keeps its logs and which ports it listens on.
     *
     * @param dataDir log and metadata directory; formatted on first use, reused afterwards
     * @param port the client port (PLAINTEXT on 127.0.0.1)
     * @param controllerPort the KRaft controller port
     * @param extra further broker properties, applied last (for example a retention)
     */
    public record Settings(Path dataDir, int port, int controllerPort, Map<String, String> extra) {
        public Settings {
            Objects.requireNonNull(dataDir, "dataDir");
            extra = Map.copyOf(extra);
            checkPort(port, "port");
            checkPort(controllerPort, "controllerPort");
            if (port == controllerPort) {
                throw new IllegalArgumentException("the client and controller ports must differ, both are " + port);
            }
        }

        /** A broker on two free ports chosen now, with its logs in {@code dataDir}. */
        public static Settings ephemeral(Path dataDir) {
            return new Settings(dataDir, freePort(), freePort(), Map.of());
        }

        /**
         * The same broker listening for clients on every address and naming {@code address} to
         * them: for clients in other network namespaces, which reach this one at that address.
         */
        public Settings advertisedAt(String address) {
            return new Settings(dataDir, port, controllerPort, Map.of(
                    "listeners", "PLAINTEXT://0.0.0.0:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                    "advertised.listeners", "PLAINTEXT://" + address + ":" + port));
        }

        private static void checkPort(int p, String what) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException(what + " must be 1..65535, not " + p);
            }
        }
    }

    private final Settings settings;
    private final KafkaRaftServer server;

    private EmbeddedKafkaBroker(Settings settings, KafkaRaftServer server) {
        this.settings = settings;
        this.server = server;
    }

    /**
     * Formats {@code settings.dataDir()} if it is new, starts the broker and waits until it answers
     * clients.
     *
     * @throws BrokerStartException the directory cannot be formatted, a port is taken, or the broker
     *                              does not become ready within a minute
     */
    public static EmbeddedKafkaBroker start(Settings settings) {
        Path dir = settings.dataDir().toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BrokerStartException("cannot create the broker's data directory " + dir + ": " + e.getMessage(), e);
        }
        Map<String, Object> props = brokerProperties(settings, dir);
        KafkaConfig config;
        try {
            config = new KafkaConfig(props);
        } catch (RuntimeException e) {
            throw new BrokerStartException("invalid broker settings: " + e.getMessage(), e);
        }
        formatIfNew(dir);
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            server.startup();
        } catch (RuntimeException e) {
            shutdownQuietly(server);
            throw new BrokerStartException("the broker did not start on " + HOST + ":" + settings.port() + " (data "
                    + dir + "): " + e.getMessage(), e);
        }
        EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(settings, server);
        try {
            broker.awaitReady();
        } catch (RuntimeException e) {
            broker.close();
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "Kafka broker ready at {0} (data {1})", broker.bootstrapServers(), dir);
        return broker;
    }

    private static Map<String, Object> brokerProperties(Settings settings, Path dir) {
        Map<String, Object> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + settings.controllerPort());
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + settings.port() + "," + CONTROLLER_LISTENER + "://" + HOST
                + ":" + settings.controllerPort());
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + settings.port());
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dir.toString());
        // One broker: every internal topic must fit on it, or consumer groups silently never form.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("num.partitions", "1");
        // A new consumer group starts at once instead of waiting 3 s for more members.
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "true");
        p.putAll(settings.extra());
        return p;
    }

    /** What {@code kafka-storage format} does, for a directory that has no {@code meta.properties} yet. */
    private static void formatIfNew(Path dir) {
        if (Files.exists(dir.resolve("meta.properties"))) {
            return;
        }
        try (PrintStream quiet = new PrintStream(OutputStream.nullOutputStream())) {
            new Formatter().setPrintStream(quiet).setNodeId(NODE_ID).setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName(CONTROLLER_LISTENER).setMetadataLogDirectory(dir.toString())
                    .setDirectories(List.of(dir.toString())).run();
        } catch (Exception e) {
            throw new BrokerStartException("cannot format the broker's data directory " + dir + ": " + e.getMessage(),
                    e);
        }
    }

    private void awaitReady() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(p)) {
            while (true) {
                try {
                    // The broker has registered with its controller once it lists itself.
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw new BrokerStartException("the broker at " + bootstrapServers() + " did not answer within "
                                + READY_TIMEOUT.toSeconds() + " s: " + e.getMessage(), e);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new BrokerStartException("the broker at " + bootstrapServers() + " did not register within "
                            + READY_TIMEOUT.toSeconds() + " s");
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerStartException("interrupted while waiting for the broker to start", e);
        }
    }

    /** {@code host:port} for clients' {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return HOST + ":" + settings.port();
    }

    public Settings settings() {
        return settings;
    }

    /** Blocks until the broker has shut down (from {@link #close()} or a fatal error). */
    public void awaitShutdown() {
        server.awaitShutdown();
    }

    /** Shuts the broker down and waits for it; the data directory stays. */
    @Override
    public void close() {
        shutdownQuietly(server);
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "Kafka broker shutdown: " + e.getMessage(), e);
        }
    }

    /** A TCP port nobody listens on now (the usual race with other processes is accepted for tests). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free TCP port on " + HOST, e);
        }
    }
}
