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
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Principals;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclBinding;
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
     * Where the broker keeps its logs, which ports it listens on and how it knows its clients.
     *
     * @param dataDir log and metadata directory; formatted on first use, reused afterwards
     * @param port the client port (on 127.0.0.1, or every address when advertised elsewhere)
     * @param controllerPort the KRaft controller port (127.0.0.1)
     * @param extra further broker properties, applied last (for example a retention)
     * @param advertisedAddress the address named to clients when it is not 127.0.0.1
     * @param tls mutual TLS with ACLs; empty for plaintext with no authentication, which only a
     *            caller that chooses it on purpose gets ({@link #ephemeral} is plaintext: the
     *            broker's own tests and tools; the all-in-one cloud uses {@link #withTls})
     */
    public record Settings(Path dataDir, int port, int controllerPort, Map<String, String> extra,
                           Optional<String> advertisedAddress, Optional<Tls> tls) {
        public Settings {
            Objects.requireNonNull(dataDir, "dataDir");
            extra = Map.copyOf(extra);
            Objects.requireNonNull(advertisedAddress, "advertisedAddress");
            Objects.requireNonNull(tls, "tls");
            checkPort(port, "port");
            checkPort(controllerPort, "controllerPort");
            if (port == controllerPort) {
                throw new IllegalArgumentException("the client and controller ports must differ, both are " + port);
            }
        }

        /** A plaintext broker on 127.0.0.1. */
        public Settings(Path dataDir, int port, int controllerPort, Map<String, String> extra) {
            this(dataDir, port, controllerPort, extra, Optional.empty(), Optional.empty());
        }

        /** A plaintext broker on two free ports chosen now, with its logs in {@code dataDir}. */
        public static Settings ephemeral(Path dataDir) {
            return new Settings(dataDir, freePort(), freePort(), Map.of());
        }

        /**
         * The same broker listening for clients on every address and naming {@code address} to
         * them: for clients in other network namespaces, which reach this one at that address
         * (with TLS, the broker's certificate must name it too).
         */
        public Settings advertisedAt(String address) {
            return new Settings(dataDir, port, controllerPort, extra, Optional.of(address), tls);
        }

        /** The same broker with mutual TLS and ACLs on every listener. */
        public Settings withTls(Tls identity) {
            return new Settings(dataDir, port, controllerPort, extra, advertisedAddress, Optional.of(identity));
        }

        private static void checkPort(int p, String what) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException(what + " must be 1..65535, not " + p);
            }
        }
    }

    /**
     * The broker's TLS identity and who may do anything on it.
     *
     * @param identity the broker's own key, certificate chain and the CA it trusts for clients;
     *                 the certificate must name every address the broker is reached at (127.0.0.1
     *                 and the advertised one): the broker dials itself there too
     * @param superUsers principals (certificate common names) that no ACL restricts, such as the
     *                   control plane; the broker's own name is added
     */
    public record Tls(KafkaClientSettings.Tls identity, Set<String> superUsers) {
        public Tls {
            Objects.requireNonNull(identity, "identity");
            superUsers = Set.copyOf(superUsers);
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
        String protocol = settings.tls().isPresent() ? "SSL" : "PLAINTEXT";
        String bind = settings.advertisedAddress().isPresent() ? "0.0.0.0" : HOST;
        p.put("listeners", protocol + "://" + bind + ":" + settings.port() + "," + CONTROLLER_LISTENER + "://" + HOST
                + ":" + settings.controllerPort());
        p.put("advertised.listeners", protocol + "://" + settings.advertisedAddress().orElse(HOST) + ":"
                + settings.port());
        // With TLS the controller's listener is TLS too: a plaintext one would be a way around the ACLs.
        p.put("listener.security.protocol.map", protocol + ":" + protocol + "," + CONTROLLER_LISTENER + ":" + protocol);
        p.put("inter.broker.listener.name", protocol);
        settings.tls().ifPresent(tls -> p.putAll(securityProperties(tls)));
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

    /**
     * Mutual TLS on every listener, the certificate's common name as the principal, and Kafka's
     * own authorizer denying whatever no ACL allows.
     */
    private static Map<String, Object> securityProperties(Tls tls) {
        Map<String, Object> p = new HashMap<>();
        // The same key and trust stores as a client of these settings: one reading of the PEM files.
        KafkaClientSettings.mutualTls(HOST, tls.identity()).properties("broker").forEach((k, v) -> {
            if (((String) k).startsWith("ssl.")) {
                p.put((String) k, v);
            }
        });
        p.put("ssl.client.auth", "required");
        // "CN=agent-h1,O=Stratus" is principal "agent-h1"; any other subject keeps its whole DN and
        // so matches no ACL and no super user.
        p.put("ssl.principal.mapping.rules", "RULE:^CN=([^,]+),O=Stratus$/$1/,DEFAULT");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("allow.everyone.if.no.acl.found", "false");
        Set<String> supers = new TreeSet<>(tls.superUsers());
        supers.add(commonName(tls.identity().certificateChain()));
        p.put("super.users", String.join(";", supers.stream().map(Principals::kafkaUser).toList()));
        return p;
    }

    /** The common name of the first certificate in a PEM file: the broker's own principal. */
    private static String commonName(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            throw new BrokerStartException("the broker's certificate in " + pem + " has no common name", null);
        } catch (IOException | GeneralSecurityException | InvalidNameException e) {
            throw new BrokerStartException("cannot read the broker's certificate " + pem + ": " + e.getMessage(), e);
        }
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
        Properties p = ownClient().properties("stratus-broker-ready");
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

    /**
     * Grants {@code acls} (for example {@code BusAcls.forAgent(host)}), as the broker's own super
     * user; granting what is granted already changes nothing.
     *
     * @throws IllegalStateException the broker has no TLS (a plaintext broker has no authorizer)
     *                               or does not take the ACLs in time
     */
    public void allow(Collection<AclBinding> acls) {
        if (settings.tls().isEmpty()) {
            throw new IllegalStateException("the broker at " + bootstrapServers() + " is plaintext: it has no ACLs");
        }
        try (Admin admin = Admin.create(ownClient().properties("stratus-broker-acls"))) {
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the broker did not take " + acls.size() + " ACLs: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while granting ACLs", e);
        }
    }

    /** The broker's own identity as a client of itself (a super user: never handed out). */
    private KafkaClientSettings ownClient() {
        return settings.tls().map(t -> KafkaClientSettings.mutualTls(bootstrapServers(), t.identity()))
                .orElse(KafkaClientSettings.plaintext(bootstrapServers()));
    }

    /** {@code host:port} for clients' {@code bootstrap.servers} on this host. */
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
