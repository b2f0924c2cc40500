package io.stratus.scheduler.service;

import io.stratus.kafka.client.KafkaClientSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.HostNotes;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.AgentConsoles;
import io.stratus.scheduler.console.ConsoleTokens;
import io.stratus.scheduler.conductor.CommandPublisher;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.ConductorParts;
import io.stratus.scheduler.conductor.HostFailures;
import io.stratus.scheduler.conductor.HostCommands;
import io.stratus.scheduler.conductor.ImageActions;
import io.stratus.scheduler.conductor.ServerActions;
import io.stratus.scheduler.conductor.Sweeper;
import io.stratus.database.Database;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.identity.IdentityStore;
import io.stratus.scheduler.identity.Lockout;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.keypairs.KeypairStore;
import io.stratus.scheduler.metadata.MetadataService;
import io.stratus.scheduler.metadata.MetadataSource;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.NetworkStatePublisher;
import io.stratus.scheduler.network.SecurityGroupStore;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.Weigher;
import io.stratus.scheduler.conductor.VolumeEvents;
import io.stratus.scheduler.volume.VolumeAttachments;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Wires the scheduler's plain-Java parts together; only the components classes (this one, {@link
 * NetworkComponents}, {@link VolumeComponents}) and the lifecycle know CDI.
 */
@Singleton
public class SchedulerComponents {
    /** The reason a new host is disabled with (Nova's words for {@code enable_new_services=False}). */
    public static final String NEW_HOST_DISABLED = "New compute service disabled due to config option.";

    @ConfigProperty(name = KafkaClientSettings.BOOTSTRAP_KEY)
    String bootstrapServers;

    @ConfigProperty(name = KafkaClientSettings.KEY_KEY)
    Optional<String> kafkaKey;

    @ConfigProperty(name = KafkaClientSettings.CHAIN_KEY)
    Optional<String> kafkaChain;

    @ConfigProperty(name = KafkaClientSettings.CA_KEY)
    Optional<String> kafkaCa;

    /** How every Kafka client of the scheduler connects (TLS when the three files are configured). */
    @Produces
    @Singleton
    KafkaClientSettings bus() {
        return KafkaClientSettings.fromConfig(bootstrapServers, kafkaKey, kafkaChain, kafkaCa);
    }

    @Produces
    @Singleton
    Clock clock() {
        return Clock.systemUTC();
    }

    @Produces
    @Singleton
    Database database(SchedulerConfig config) {
        if (config.db().url().startsWith("jdbc:h2:file:")) {
            try {
                Files.createDirectories(config.dataDir());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the scheduler's data directory " + config.dataDir(), e);
            }
        }
        SchedulerConfig.Database db = config.db();
        return Database.open(db.url(), db.user(), db.password(), db.poolSize());
    }

    void closeDatabase(@Disposes Database database) {
        database.close();
    }

    @Produces
    @Singleton
    IdentityStore identity(Database db, Clock clock, SchedulerConfig config) {
        return new IdentityStore(db.dataSource(), clock, config.tokenLifetime(),
                new Lockout(config.lockout().failureAttempts(), config.lockout().duration()));
    }

    @Produces
    @Singleton
    FlavorStore flavors(Database db, Clock clock) {
        return new FlavorStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    ImageCatalog images(SchedulerConfig config, IdentityStore identity, Clock clock) {
        return new ImageCatalog(config.imageUrl(), () -> {
            IdentityStore.Issued issued = identity.issueFor(config.admin().user());
            return new ImageCatalog.Token(issued.secret(), issued.caller().expiresAt());
        }, clock);
    }

    @Produces
    @Singleton
    ServerStore servers(Database db, Clock clock) {
        return new ServerStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    InstanceActionStore instanceActions(Database db) {
        return new InstanceActionStore(db.dataSource());
    }

    @Produces
    @Singleton
    KeypairStore keypairs(Database db, Clock clock) {
        return new KeypairStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    ServerMetadataStore serverMetadata(Database db) {
        return new ServerMetadataStore(db.dataSource());
    }

    @Produces
    @Singleton
    MigrationStore migrations(Database db, Clock clock) {
        return new MigrationStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    ServerGroupStore groups(Database db, Clock clock) {
        return new ServerGroupStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    QuotaStore quotas(Database db, SchedulerConfig config) {
        return new QuotaStore(db.dataSource(), config.defaultQuota());
    }

    @Produces
    @Singleton
    HostNotes hostNotes(Database db) {
        return new HostNotes(db.dataSource());
    }

    @Produces
    @Singleton
    PlacementStore placement(Database db) {
        return new PlacementStore(db.dataSource());
    }

    @Produces
    @Singleton
    PlacementView placementView(PlacementStore placement, Clock clock) {
        // Own claims update the picture and lost claims reread their host, so a full reread is rarely needed.
        return new PlacementView(placement, clock, Duration.ofSeconds(10), 1000);
    }

    @Produces
    @Singleton
    HostDirectory hosts(PlacementStore placement, PlacementView view, SchedulerConfig config, Clock clock,
                        NetworkStatePublisher networkStates) {
        SchedulerConfig.Ratios r = config.ratios();
        return new HostDirectory(placement, new HostDirectory.Ratios(r.cpu(), r.ram(), r.disk()), clock,
                view::invalidate, report -> networkStates.reported(report.getHost(), report.getTunnelAddress(),
                report.getL3Agent()), config.newHostsEnabled() ? Optional.empty() : Optional.of(NEW_HOST_DISABLED));
    }

    /** Nova's metadata service over the control plane's records, for the agents' metadata proxies. */
    @Produces
    @Singleton
    MetadataService metadataService(ServerStore servers, ServerMetadataStore metadata, FlavorStore flavors,
                                    NetworkService network, SecurityGroupStore groups, MetadataConfig config) {
        return new MetadataService(new MetadataSource(servers, metadata, flavors, network, groups),
                new MetadataService.Settings(config.sharedSecret(), config.dhcpDomain()));
    }

    @Produces
    @Singleton
    HostSelector selector(SchedulerConfig config, Clock clock) {
        SchedulerConfig.Weights w = config.weights();
        return new HostSelector(
                List.of(Filters.alive(clock, config.hostDownAfter()), Filters.availabilityZone(),
                        Filters.imageProperties(), Filters.requiredTraits(), Filters.resources(),
                        Filters.serverGroup()),
                List.of(Weigher.ram(w.ram()), Weigher.cpu(w.cpu()), Weigher.sameImage(w.sameImage())));
    }

    @Produces
    @Singleton
    Producer<String, byte[]> producer(SchedulerConfig config, KafkaClientSettings bus) {
        Properties p = bus.properties("stratus-scheduler-" + config.replica());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    void closeProducer(@Disposes Producer<String, byte[]> producer) {
        producer.close(Duration.ofSeconds(10));
    }

    @Produces
    @Singleton
    CommandPublisher commands(Producer<String, byte[]> producer) {
        return new CommandPublisher(producer);
    }

    @Produces
    @Singleton
    ConductorParts conductorParts(ServerStore servers, ServerMetadataStore metadata, MigrationStore migrations,
                                  FlavorStore flavors, ImageCatalog images, ServerGroupStore groups,
                                  PlacementStore placement, PlacementView view, HostDirectory hosts,
                                  HostSelector selector, CommandPublisher commands, NetworkService network, Clock clock,
                                  SchedulerConfig config, MeterRegistry meters, InstanceActionStore actions,
                                  VolumeAttachments volumes) {
        return ConductorParts.assemble(new ConductorParts.Services(servers, metadata, migrations, flavors, images,
                        groups, network, actions, new VolumeEvents(volumes)),
                new ConductorParts.Hosts(placement, view, hosts, selector, commands), clock,
                new Conductor.Settings(config.maxAttempts(), config.taskTimeout(), config.hostDownAfter(),
                        config.volumeWait()), meters);
    }

    @Produces
    @Singleton
    Conductor conductor(ConductorParts parts) {
        return parts.conductor();
    }

    @Produces
    @Singleton
    Sweeper sweeper(ConductorParts parts) {
        return parts.sweeper();
    }

    @Produces
    @Singleton
    HostCommands hostCommands(ConductorParts parts) {
        return parts.commands();
    }

    @Produces
    @Singleton
    ServerActions actions(ServerStore servers, FlavorStore flavors, PlacementStore placement,
                          HostCommands commands, Conductor conductor, MigrationStore migrations) {
        return new ServerActions(servers, flavors, placement, commands, conductor, migrations);
    }

    @Produces
    @Singleton
    ImageActions imageActions(ServerStore servers, HostCommands commands, ImageCatalog images) {
        return new ImageActions(servers, commands, images);
    }

    @Produces
    @Singleton
    AgentConsoles consoles(SchedulerConfig config) {
        SchedulerConfig.AgentTls tls = config.agentTls();
        if (tls.certificate().isEmpty() && tls.key().isEmpty() && tls.ca().isEmpty()) {
            return AgentConsoles.plainText();
        }
        if (tls.certificate().isEmpty() || tls.key().isEmpty() || tls.ca().isEmpty()) {
            throw new IllegalArgumentException("stratus.scheduler.agent-tls needs certificate, key and ca together");
        }
        return AgentConsoles.mutualTls(tls.certificate().get(), tls.key().get(), tls.ca().get());
    }

    @Produces
    @Singleton
    ConsoleTokens consoleTokens(Clock clock) {
        return new ConsoleTokens(clock, ConsoleTokens.DEFAULT_LIFETIME);
    }

    @Produces
    @Singleton
    HostFailures hostFailures(ServerStore servers, ServerMetadataStore metadata, HostDirectory hosts,
                              Conductor conductor, AgentConsoles agents, Clock clock, SchedulerConfig config) {
        return new HostFailures(servers, metadata, hosts, conductor, agents::answers, clock,
                new HostFailures.Settings(config.hostFailedAfter(), config.evacuationsAtOnce()));
    }

    void closeConsoles(@Disposes AgentConsoles consoles) {
        consoles.close();
    }
}
