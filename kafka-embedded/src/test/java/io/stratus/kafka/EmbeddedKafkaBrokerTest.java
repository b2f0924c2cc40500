package io.stratus.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaBrokerTest {

    @TempDir
    Path dir;

    @Test
    void recordsSurviveARestartOnTheSameDirectory() throws Exception {
        EmbeddedKafkaBroker.Settings settings = EmbeddedKafkaBroker.Settings.ephemeral(dir);
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(settings)) {
            produce(broker.bootstrapServers(), "stratus.test", "i-1", "first");
            // A consumer group that commits: the offsets topic must work on a single broker.
            assertThat(consume(broker.bootstrapServers(), "stratus.test", "g1", 1)).containsExactly("first");
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(settings)) {
            produce(broker.bootstrapServers(), "stratus.test", "i-1", "second");
            // The group's committed offset came back with the broker: only the new record is read.
            assertThat(consume(broker.bootstrapServers(), "stratus.test", "g1", 1)).containsExactly("second");
            assertThat(consume(broker.bootstrapServers(), "stratus.test", "g2", 2)).containsExactly("first", "second");
        }
    }

    @Test
    void aTakenPortIsReportedWithTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            EmbeddedKafkaBroker.Settings settings = new EmbeddedKafkaBroker.Settings(dir, taken.getLocalPort(),
                    EmbeddedKafkaBroker.freePort(), Map.of());
            assertThatThrownBy(() -> EmbeddedKafkaBroker.start(settings))
                    .isInstanceOf(BrokerStartException.class)
                    .hasMessageContaining("127.0.0.1:" + taken.getLocalPort());
        }
    }

    @Test
    void settingsRejectOneSharedPort() {
        assertThatThrownBy(() -> new EmbeddedKafkaBroker.Settings(dir, 9092, 9092, Map.of()))
                .hasMessageContaining("must differ");
    }

    private static void produce(String bootstrap, String topic, String key, String value) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(),
                new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get();
        }
    }

    private static List<String> consume(String bootstrap, String topic, String group, int count) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "test-" + UUID.randomUUID());
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (values.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
            consumer.commitSync();
        }
        return values;
    }
}
