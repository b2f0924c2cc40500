package io.stratus.agent.lifecycle;

import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import io.stratus.agent.bus.EventPublisher;
import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.config.AgentConfig;
import io.stratus.agent.grpc.CallerPolicy;
import io.stratus.agent.grpc.GrpcTls;
import io.stratus.agent.grpc.PeerChannels;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageServiceSource;
import io.stratus.agent.image.ImageSource;
import io.stratus.agent.image.ServiceLogin;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.metadata.ConfigDriveIso;
import io.stratus.agent.metadata.MetadataService;
import io.stratus.agent.migration.HostReportsDirectory;
import io.stratus.agent.migration.LiveMigrations;
import io.stratus.agent.migration.MigrationSources;
import io.stratus.agent.migration.MigrationTargets;
import io.stratus.agent.network.DataPlaneTools;
import io.stratus.agent.network.HostCommands;
import io.stratus.agent.network.NetworkReconciler;
import io.stratus.agent.network.NetworkSettings;
import io.stratus.agent.network.NetworkStateFeed;
import io.stratus.agent.network.PortPlugs;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.telemetry.ImageCacheMeters;
import io.stratus.agent.telemetry.InstanceMeters;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.agent.telemetry.NetworkMeters;
import io.stratus.agent.telemetry.WatchdogMeters;
import io.stratus.agent.virt.DriverChoice;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.Resources;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Wires the agent's plain-Java parts together; only this class and the lifecycle know CDI. */
@Singleton
public class AgentComponents {
    @ConfigProperty(name = KafkaClientSettings.BOOTSTRAP_KEY)
    String bootstrapServers;

    @ConfigProperty(name = KafkaClientSettings.KEY_KEY)
    Optional<String> kafkaKey;

    @ConfigProperty(name = KafkaClientSettings.CHAIN_KEY)
    Optional<String> kafkaChain;

    @ConfigProperty(name = KafkaClientSettings.CA_KEY)
    Optional<String> kafkaCa;

    /** How every Kafka client of this agent connects (TLS when the three files are configured). */
    @Produces
    @Singleton
    KafkaClientSettings bus() {
        return KafkaClientSettings.fromConfig(bootstrapServers, kafkaKey, kafkaChain, kafkaCa);
    }

    @Produces
    @Singleton
    AgentStore store(AgroalDataSource dataSource) {
        return new AgentStore(dataSource);
    }

    @Produces
    @Singleton
    ImageCache images(AgentConfig config, AgentStore store, MeterRegistry registry) {
        AgentConfig.ImageService s = config.imageService();
        ImageSource source;
        if (s.url().isPresent()) {
            String missing = s.identityUrl().isEmpty() ? "stratus.agent.image-service.identity-url"
                    : s.password().isEmpty() ? "stratus.agent.image-service.password (STRATUS_AGENT_IMAGE_SERVICE_PASSWORD)"
                    : null;
            if (missing != null) {
                throw new IllegalStateException("stratus.agent.image-service.url is set, but " + missing
                        + " is not: the agent logs in to fetch images");
            }
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            ServiceLogin login = new ServiceLogin(http, new ServiceLogin.Credentials(s.identityUrl().get(), s.user(),
                    s.password().get(), s.project()), Clock.systemUTC());
            source = new ImageServiceSource(http, s.url().get(), login);
        } else {
            source = new DirectorySource(config.imagesDir());
        }
        ImageCache cache = new ImageCache(config.dataDir().resolve("image-cache"), source,
                config.imageCache().maxBytes(), () -> imagesNamedBy(store.all()), Clock.systemUTC());
        ImageCacheMeters.register(registry, cache, config.host());
        return cache;
    }

    /** Every image an instance on this host names: its disk may be a layer over one. */
    private static Set<String> imagesNamedBy(List<InstanceRecord> records) {
        Set<String> ids = new HashSet<>();
        for (InstanceRecord r : records) {
            BootSource s = r.boot().getSource();
            for (String id : List.of(s.getImageId(), s.getKernelImageId(), s.getRamdiskImageId())) {
                if (!id.isEmpty()) {
                    ids.add(id);
                }
            }
        }
        return ids;
    }

    @Produces
    @Singleton
    HypervisorDriver driver(AgentConfig config) {
        long entropy = config.entropyBytesPerSecond();
        if (entropy < 0) {
            throw new IllegalArgumentException("stratus.agent.entropy-bytes-per-second is " + entropy
                    + "; give a number of bytes, or 0 for no limit");
        }
        return DriverChoice.choose(new DriverChoice.Settings(config.driver(), config.kvmDevice(),
                config.qemu().binary(), config.qemu().accel(),
                entropy == 0 ? OptionalLong.empty() : OptionalLong.of(entropy)));
    }

    @Produces
    @Singleton
    GuestSupervisor guests(AgentConfig config, HypervisorDriver driver, ImageCache images, PortPlugs plugs,
                           MetadataService metadata) {
        return new GuestSupervisor(driver, images, plugs,
                metadata.configDrives(new ConfigDriveIso("genisoimage", Duration.ofSeconds(60))),
                config.dataDir().resolve("instances"), config.consoleBufferBytes());
    }

    /** Guests' metadata: the proxies' socket and config drives, where a metadata API is configured. */
    @Produces
    @Singleton
    MetadataService metadata(AgentConfig config) {
        AgentConfig.Metadata m = config.metadata();
        return MetadataService.of(m.url(), m.sharedSecret(),
                m.socket().orElse(Path.of("/run/stratus", config.host(), "metadata.sock")), m.timeout());
    }

    @Produces
    @Singleton
    Producer<String, byte[]> producer(AgentConfig config, KafkaClientSettings bus) {
        Properties p = bus.properties("stratus-agent-" + config.host());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    void closeProducer(@Disposes Producer<String, byte[]> producer) {
        producer.close(Duration.ofSeconds(10));
    }

    @Produces
    @Singleton
    EventPublisher publisher(Producer<String, byte[]> producer, AgentConfig config) {
        return new EventPublisher(producer, config.host());
    }

    @Produces
    @Singleton
    CommandHandler handler(AgentConfig config, AgentStore store, GuestSupervisor guests, EventPublisher publisher,
                           InstanceMeters meters, LiveMigrations migrations, MeterRegistry registry) {
        CommandHandler handler = new CommandHandler(config.host(), store, guests, capacity(config), publisher,
                Clock.systemUTC(), migrations);
        handler.onRecordChange(meters::follow);
        WatchdogMeters.register(registry, handler, config.host());
        return handler;
    }

    @Produces
    @Singleton
    @Named("migration-workers")
    ExecutorService migrationWorkers() {
        AtomicInteger n = new AtomicInteger();
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "migration-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    void closeMigrationWorkers(@Disposes @Named("migration-workers") ExecutorService workers) {
        workers.shutdownNow();
    }

    @Produces
    @Singleton
    MigrationTargets migrationTargets(AgentConfig config, GuestSupervisor guests,
                                      @Named("migration-workers") ExecutorService workers,
                                      MigrationMeters meters) {
        return new MigrationTargets(config.host(), guests, workers, Clock.systemUTC(),
                config.migration().stallLimit(), meters);
    }

    @Produces
    @Singleton
    MigrationMeters migrationMeters(MeterRegistry registry, AgentConfig config) {
        return new MigrationMeters(registry, config.host());
    }

    @Produces
    @Singleton
    LiveMigrations migrations(AgentConfig config, GuestSupervisor guests, MigrationTargets targets,
                              @Named("migration-workers") ExecutorService workers, MigrationMeters meters) {
        AgentConfig.Migration m = config.migration();
        // Read with the settings of the network feed: a consumer without group over a compacted topic.
        HostReportsDirectory directory = new HostReportsDirectory(() -> NetworkStateFeed.kafka(bus(),
                config.host() + "-directory"), Topics::hostReports, Duration.ofSeconds(30));
        return new LiveMigrations(new MigrationSources(config.host(), directory,
                PeerChannels.of(GrpcTls.from(config.tls())), guests.driver(),
                new MigrationLimits(m.maxDowntime(), m.maxRounds(), m.maxBandwidth()), m.targetWait(), m.stallLimit(),
                meters), targets, workers);
    }

    @Produces
    @Singleton
    CallerPolicy callerPolicy(AgentConfig config) {
        return new CallerPolicy(GrpcTls.from(config.tls()).isPresent(), Set.copyOf(config.tls().controlPlane()));
    }

    @Produces
    @Singleton
    InstanceMeters meters(MeterRegistry registry, GuestSupervisor guests, AgentConfig config) {
        return new InstanceMeters(registry, guests, config.host());
    }

    @Produces
    @Singleton
    NetworkSettings networkSettings(AgentConfig config, MetadataService metadata) {
        AgentConfig.Network n = config.network();
        String tunnel = n.tunnelAddress().or(() -> NetworkSettings.sourceAddressTowards(
                bootstrapServers.split(",")[0].trim())).orElse("");
        return new NetworkSettings(tunnel, NetworkSettings.mappings(n.physicalInterfaces().orElse("")),
                n.namespacePrefix().orElseGet(() -> NetworkSettings.inNamedNetworkNamespace() ? config.host() + "-" : ""),
                n.dhcpDir().orElse(Path.of("/run/stratus", config.host(), "dhcp")), metadata.proxySocket(),
                n.l3Agent());
    }

    @Produces
    @Singleton
    NetworkReconciler networkReconciler(NetworkSettings settings, MeterRegistry registry, AgentConfig config) {
        NetworkReconciler reconciler = new NetworkReconciler(HostCommands.local(), settings);
        NetworkMeters.register(registry, reconciler, config.host());
        return reconciler;
    }

    /** The boot, delete and migration paths plug and unplug guests' NICs here. */
    @Produces
    @Singleton
    PortPlugs portPlugs(NetworkReconciler reconciler) {
        HostCommands host = HostCommands.local();
        return new PortPlugs(host, reconciler, DataPlaneTools.missing(host));
    }

    /**
     * What the host offers. Disk not configured (0) is the size of the file system that holds the
     * instances' disks, so that the scheduler can place flavors with a disk here.
     */
    static Resources capacity(AgentConfig config) {
        long disk = config.capacity().diskGib();
        if (disk == 0) {
            try {
                Files.createDirectories(config.dataDir());
                disk = Files.getFileStore(config.dataDir()).getTotalSpace() >> 30;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot size the file system of " + config.dataDir(), e);
            }
        }
        return Resources.newBuilder().setVcpus(config.capacity().vcpus()).setMemoryMib(config.capacity().memoryMib())
                .setDiskGib(disk).build();
    }
}
