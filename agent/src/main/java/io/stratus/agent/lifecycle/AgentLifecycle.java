package io.stratus.agent.lifecycle;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.stratus.agent.bus.CommandBacklog;
import io.stratus.agent.bus.CommandConsumer;
import io.stratus.agent.bus.CommandLoop;
import io.stratus.agent.bus.EventPublisher;
import io.stratus.agent.bus.TopicSetup;
import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.config.AgentConfig;
import io.stratus.agent.grpc.AgentGrpcServer;
import io.stratus.agent.grpc.AgentGrpcService;
import io.stratus.agent.grpc.CallerPolicy;
import io.stratus.agent.grpc.GrpcTls;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.metadata.MetadataServer;
import io.stratus.agent.metadata.MetadataService;
import io.stratus.agent.migration.MigrationGrpcService;
import io.stratus.agent.migration.MigrationTargets;
import io.stratus.agent.network.NetworkReconciler;
import io.stratus.agent.network.NetworkStateFeed;
import io.stratus.agent.network.PortPlugs;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.store.PrivateFiles;
import io.stratus.agent.telemetry.InstanceMeters;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import io.stratus.proto.v1.CommandEnvelope;
import io.vertx.core.Vertx;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Start: topics, guests back (restored or booted again), then the command loop. Stop: the loop
 * ends after the commands in hand, then every guest is saved (or stopped) before the process goes.
 * Ready (for {@code /q/health/ready}) once the loop polls the broker.
 */
@Singleton
@Readiness
public class AgentLifecycle implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(AgentLifecycle.class);
    /** Where gRPC listens when no address is set: reached by no other host. */
    private static final String DEFAULT_GRPC_ADDRESS = "127.0.0.1:8082";

    @Inject
    AgentConfig config;

    @Inject
    AgentStore store;

    @Inject
    GuestSupervisor guests;

    @Inject
    CommandHandler handler;

    @Inject
    EventPublisher publisher;

    @Inject
    HostReports reports;

    @Inject
    InstanceMeters meters;

    @Inject
    NetworkReconciler networks;

    @Inject
    PortPlugs plugs;

    @Inject
    MetadataService metadata;

    @Inject
    Vertx vertx;

    @Inject
    KafkaClientSettings bus;

    @Inject
    MigrationTargets migrationTargets;

    @Inject
    @Named("migration-workers")
    ExecutorService migrationWorkers;

    @Inject
    CallerPolicy callerPolicy;

    private CommandLoop loop;
    private volatile AgentGrpcServer grpcServer;
    private NetworkStateFeed networkFeed;
    private MetadataServer metadataServer;
    private ExecutorService lanes;

    void start(@Observes StartupEvent event) throws Exception {
        Path data = config.dataDir();
        PrivateFiles.directory(data);
        PrivateFiles.directory(data.resolve("instances"));
        TopicSetup.ensure(bus, config.host());
        Set<String> heldBack = fence();
        int running = new InstanceRecovery(store, guests, handler).recover(heldBack);
        meters.reconcile(store.all());
        LOG.infof("agent for host %s: %d guest(s) running after recovery; consuming %s", config.host(), running,
                Topics.compute(config.host()));
        AtomicInteger threads = new AtomicInteger();
        lanes = Executors.newFixedThreadPool(config.commandThreads(), r -> {
            Thread t = new Thread(r, "command-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        loop = new CommandLoop(() -> new CommandConsumer(new KafkaConsumer<>(consumerProperties(),
                new StringDeserializer(), new ByteArrayDeserializer()), publisher, handler,
                Topics.compute(config.host()), lanes), "command-loop");
        loop.start();
        followNetworkState();
        serveMetadata();
        serveGrpc();
        reports.enable();
    }

    /** The Deletes that waited on the host's topic, applied before any guest comes back ({@link BacklogFence}). */
    private Set<String> fence() {
        Properties p = consumerProperties();
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "stratus-agent-" + config.host() + "-backlog");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            List<CommandEnvelope> backlog = CommandBacklog.read(consumer, Topics.compute(config.host()),
                    Duration.ofSeconds(30));
            BacklogFence.Outcome fenced = BacklogFence.applyDeletes(backlog, store, guests, handler::handle);
            if (!backlog.isEmpty()) {
                LOG.infof("agent for host %s: %d command(s) waited; %d delete(s) applied before recovery", config.host(),
                        backlog.size(), fenced.applied());
            }
            return fenced.heldBack();
        } catch (RuntimeException e) {
            // No broker now: nothing can have been sent meanwhile that the loop would not see first either.
            LOG.warnf("agent for host %s: the command backlog was not read before recovery: %s", config.host(),
                    e.getMessage());
            return Set.of();
        }
    }

    /** AgentService and MigrationService at the address the host reports publish, before they do. */
    private void serveGrpc() throws IOException {
        String address = config.grpcAddress().orElse(DEFAULT_GRPC_ADDRESS);
        Optional<GrpcTls> tls = GrpcTls.from(config.tls());
        grpcServer = AgentGrpcServer.start(AgentGrpcServer.parse(address), tls,
                List.of(new AgentGrpcService(store, guests, reports, callerPolicy),
                        new MigrationGrpcService(migrationTargets, callerPolicy, migrationWorkers)));
        if (tls.isEmpty()) {
            LOG.warnf("host %s serves gRPC at %s in plain text: set stratus.agent.tls.* (bin/stratus up does) so that"
                    + " only the cloud's control plane and agents are served", config.host(), address);
        } else {
            LOG.infof("host %s serves gRPC at %s (mutual TLS)", config.host(), address);
        }
    }

    /**
     * The socket the networks' metadata proxies forward to. A failure leaves the agent running
     * (guests go without metadata: the proxies answer 503), said in the log.
     */
    private void serveMetadata() {
        if (!metadata.enabled() || plugs.unusable().isPresent()) {
            return;
        }
        try {
            metadataServer = metadata.serve(vertx, networks::applied).orElse(null);
        } catch (RuntimeException e) {
            LOG.errorf("host %s serves no metadata to its guests: %s", config.host(), e.getMessage());
        }
    }

    /** The host's networks from stratus.network, where this host can carry them. */
    private void followNetworkState() {
        if (plugs.unusable().isPresent()) {
            LOG.warnf("host %s carries no tenant networks: %s", config.host(), plugs.unusable().get());
            return;
        }
        networkFeed = new NetworkStateFeed(() -> NetworkStateFeed.kafka(bus, config.host()),
                Topics.NETWORK, config.host(), networks::apply, config.network().resyncInterval(), Clock.systemUTC());
        Thread t = new Thread(networkFeed, "network-state");
        t.setDaemon(true);
        t.start();
    }

    private Properties consumerProperties() {
        Properties p = bus.properties("stratus-agent-" + config.host());
        // One group per host: the host's topic is its own, and a restarted agent resumes its offsets.
        p.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.agentGroup(config.host()));
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "20");
        return p;
    }

    void stop(@Observes @Priority(1) ShutdownEvent event) throws InterruptedException {
        reports.disable();
        if (networkFeed != null) {
            // The data plane stays as it is: guests that outlive the agent keep their networks.
            networkFeed.stop();
        }
        if (metadataServer != null) {
            // The proxies stay (as dnsmasq does); they answer 503 until the next start listens again.
            metadataServer.close();
        }
        if (loop != null) {
            loop.stop(Duration.ofMinutes(2));
            lanes.shutdown();
        }
        if (grpcServer != null) {
            grpcServer.close();
        }
        boolean outlive = guests.driver().capabilities().guestsOutliveAgent();
        if (outlive && config.qemu().keepGuestsOnStop()) {
            int running = guests.all().size();
            guests.detachAll();
            LOG.infof("agent for host %s stopping: %d guest(s) run on for the next start", config.host(), running);
        } else if (!outlive && config.snapshotOnShutdown()) {
            int saved = new InstanceRecovery(store, guests, handler).saveAll();
            LOG.infof("agent for host %s stopping: %d guest(s) saved for the next start", config.host(), saved);
        } else {
            guests.all().keySet().forEach(guests::stop);
        }
    }

    /** The command loop, for liveness; null before start-up. */
    CommandLoop loop() {
        return loop;
    }

    @Override
    public HealthCheckResponse call() {
        // Ready once it consumes its commands and serves gRPC (which its host reports announce).
        boolean up = loop != null && loop.healthy() && grpcServer != null;
        return HealthCheckResponse.named("command-loop").status(up).withData("host", config.host())
                .withData("guests", guests.all().size()).build();
    }
}
