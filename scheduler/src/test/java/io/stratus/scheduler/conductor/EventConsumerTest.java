package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Events through the authenticated broker into the conductor: each agent writes its own event
 * topic with its own certificate, and what one host writes about another's server is dropped.
 */
class EventConsumerTest {
    @TempDir
    Path dir;
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void anEventForgedByAnotherHostIsDroppedAndCountedAndTheHoldersEventApplies() throws Exception {
        f.host("h1", 4096);
        f.host("h2", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        try (LocalBus bus = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")),
                dir.resolve("pki"), List.of())) {
            // h2 first says it deleted h1's server in its own name (which the conductor ignores: it is not
            // the server's host), then in h1's name (a forgery); one partition keeps the two in order.
            publish(bus.agent("h2"), Topics.events("h2"), f.event(s, "h2", InstanceState.DELETED).build());
            publish(bus.agent("h2"), Topics.events("h2"), f.event(s, "h1", InstanceState.DELETED).build());
            publish(bus.agent("h1"), Topics.events("h1"), f.event(s, "h1", InstanceState.SHUTOFF).build());

            EventConsumer consumer = new EventConsumer(bus.controlPlane(), "r1", f.conductor,
                    new EventOrigins(f.servers, f.migrations));
            Thread loop = new Thread(consumer, "events");
            loop.start();
            try {
                long deadline = System.nanoTime() + 60_000_000_000L;
                while ((consumer.forgedEvents() == 0 || f.now(s).vmState() != InstanceState.SHUTOFF)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
            } finally {
                consumer.stop();
                loop.join(10_000);
            }
            assertThat(consumer.forgedEvents()).isEqualTo(1);
            Server after = f.now(s);
            assertThat(after.vmState()).as("h1's own word").isEqualTo(InstanceState.SHUTOFF);
            assertThat(after.host()).contains("h1");
            assertThat(f.vcpusUsed("h1")).as("its claim stays").isEqualTo(1);
        }
    }

    private static void publish(KafkaClientSettings who, String topic, InstanceEvent e) throws Exception {
        Properties p = who.properties("test-agent");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, e.getInstanceId(), e.toByteArray())).get();
        }
    }
}
