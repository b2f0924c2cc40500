package io.stratus.agent.lifecycle;

import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.agent.bus.EventPublisher;
import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.config.AgentConfig;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.image.ImageLibrary;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.telemetry.InstanceMeters;
import io.stratus.proto.v1.Resources;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Wires the agent's plain-Java parts together; only this class and the lifecycle know CDI. */
@Singleton
public class AgentComponents {
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Produces
    @Singleton
    AgentStore store(AgroalDataSource dataSource) {
        return new AgentStore(dataSource);
    }

    @Produces
    @Singleton
    GuestSupervisor guests(AgentConfig config) {
        return new GuestSupervisor(new ImageLibrary(config.imagesDir()), config.dataDir().resolve("instances"),
                config.consoleBufferBytes());
    }

    @Produces
    @Singleton
    Producer<String, byte[]> producer(AgentConfig config) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "stratus-agent-" + config.host());
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
    EventPublisher publisher(Producer<String, byte[]> producer) {
        return new EventPublisher(producer);
    }

    @Produces
    @Singleton
    CommandHandler handler(AgentConfig config, AgentStore store, GuestSupervisor guests, EventPublisher publisher,
                           InstanceMeters meters) {
        CommandHandler handler = new CommandHandler(config.host(), store, guests, capacity(config), publisher,
                Clock.systemUTC());
        handler.onRecordChange(meters::follow);
        return handler;
    }

    @Produces
    @Singleton
    InstanceMeters meters(MeterRegistry registry, GuestSupervisor guests, AgentConfig config) {
        return new InstanceMeters(registry, guests, config.host());
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
