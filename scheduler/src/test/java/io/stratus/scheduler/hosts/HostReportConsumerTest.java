package io.stratus.scheduler.hosts;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ResourceClass;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcConnectionPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reports through the real embedded broker into placement; garbage on the topic is skipped. */
class HostReportConsumerTest {
    @TempDir
    Path dir;

    @Test
    void reportsOnTheirHostsTopicBecomeHostsAndJunkAndForgeriesAreSkipped() throws Exception {
        JdbcConnectionPool pool = JdbcConnectionPool.create("jdbc:h2:file:" + dir.resolve("db"), "stratus", "");
        Flyway.configure().dataSource(pool).load().migrate();
        PlacementStore store = new PlacementStore(pool);
        HostDirectory hosts = new HostDirectory(store, new HostDirectory.Ratios(1.0, 1.0, 1.0), Clock.systemUTC());
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(
                dir.resolve("kafka")))) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                    new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(Topics.hostReports("h1"), "junk", new byte[] {(byte) 0xff, 7}));
                producer.send(new ProducerRecord<>(Topics.hostReports("h1"), "h1", report("h1", 6)));
                // What agent h2 could write with its certificate: a huge host of another name, on its own topic.
                producer.send(new ProducerRecord<>(Topics.hostReports("h2"), "h3", report("h3", 4096)));
                producer.flush();
            }
            HostReportConsumer consumer = new HostReportConsumer(KafkaClientSettings.plaintext(
                    broker.bootstrapServers()), "r1", hosts);
            Thread loop = new Thread(consumer, "host-reports");
            loop.start();
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                // The directory records the report after it writes the inventory: wait for the last write.
                while ((hosts.report("h1").isEmpty() || consumer.forgedReports() == 0)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(store.usage("h1")).isPresent();
                assertThat(store.usage("h1").get().free(ResourceClass.VCPU)).isEqualTo(6);
                assertThat(hosts.lastReport("h1")).isPresent();
                assertThat(consumer.forgedReports()).isEqualTo(1);
                assertThat(hosts.report("h3")).isEmpty();
                assertThat(store.usage("h3")).isEmpty();
                assertThat(store.all()).hasSize(1);
            } finally {
                consumer.stop();
                loop.join(10_000);
            }
        } finally {
            pool.dispose();
        }
    }

    private static byte[] report(String host, int vcpus) {
        return HostReport.newBuilder().setHost(host).setReportedAt(Timestamp.newBuilder()
                .setSeconds(Instant.now().getEpochSecond())).setCapacity(Resources.newBuilder().setVcpus(vcpus)
                .setMemoryMib(2048)).build().toByteArray();
    }
}
