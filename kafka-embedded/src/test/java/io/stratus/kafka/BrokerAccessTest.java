package io.stratus.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kafka.client.BusAcls;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Principals;
import io.stratus.kafka.client.Topics;
import io.stratus.local.pki.CertificateAuthority;
import io.stratus.local.pki.IssuedIdentity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker with mutual TLS and ACLs, as the all-in-one cloud runs it: the control plane sends
 * commands, an agent reads only its own and writes only what agents write, and a client without a
 * certificate of this CA gets nothing. Every refusal asserted here is the broker's.
 */
class BrokerAccessTest {
    @TempDir
    static Path dir;
    private static EmbeddedKafkaBroker broker;
    private static CertificateAuthority ca;
    private static KafkaClientSettings controlPlane;
    private static KafkaClientSettings agentH1;
    private static KafkaClientSettings agentH2;

    @BeforeAll
    static void start() {
        ca = CertificateAuthority.openOrCreate(dir.resolve("pki"), "stratus-ca");
        IssuedIdentity brokerId = ca.issue(Principals.BROKER, List.of("localhost"), List.of("127.0.0.1"));
        broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka"))
                .withTls(new EmbeddedKafkaBroker.Tls(tls(brokerId), Set.of(Principals.CONTROL_PLANE))));
        broker.allow(BusAcls.forAgent("h1"));
        broker.allow(BusAcls.forAgent("h2"));
        controlPlane = client(ca.issue(Principals.CONTROL_PLANE, List.of(), List.of()));
        agentH1 = client(ca.issue(Principals.agent("h1"), List.of(), List.of()));
        agentH2 = client(ca.issue(Principals.agent("h2"), List.of(), List.of()));
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void theControlPlaneCommandsAHostAndOnlyThatHostsAgentReadsIt() throws Exception {
        produce(controlPlane, Topics.compute("h1"), "boot");
        assertThat(consume(agentH1, Topics.compute("h1"), Topics.agentGroup("h1"))).contains("boot");

        assertThatThrownBy(() -> consume(agentH2, Topics.compute("h1"), Topics.agentGroup("h2")))
                .isInstanceOf(TopicAuthorizationException.class);
        // Its own group name does not help with the other topic, nor the other's group.
        assertThatThrownBy(() -> consume(agentH2, Topics.compute("h1"), Topics.agentGroup("h1")))
                .isInstanceOf(AuthorizationException.class);
    }

    @Test
    void anAgentPublishesNoCommandsNeitherToItselfNorToAnotherHost() {
        for (String topic : List.of(Topics.compute("h1"), Topics.compute("h2"))) {
            assertThatThrownBy(() -> produce(agentH2, topic, "delete")).as(topic)
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void anAgentWritesOnlyItsOwnHostsTopics() throws Exception {
        for (String topic : List.of(Topics.hostReports("h1"), Topics.events("h1"), Topics.telemetry("h1"),
                Topics.deadLetters("h1"))) {
            produce(agentH1, topic, "from h1");
        }
        // Another host's topics, h10's among them (a prefix ACL for h1 would match it), and the old shared ones.
        for (String forged : List.of(Topics.NETWORK, Topics.hostReports("h2"), Topics.HOSTS, Topics.events("h2"),
                Topics.telemetry("h2"), Topics.deadLetters("h2"), Topics.events("h10"), Topics.hostReports("h10"),
                Topics.EVENTS, Topics.TELEMETRY, Topics.DLQ, "stratus.compute.dlq")) {
            assertThatThrownBy(() -> produce(agentH1, forged, "forged")).as(forged)
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void aClientWithoutACertificateOfThisCaIsRefusedAtTheHandshake() {
        KafkaClientSettings foreign = client(CertificateAuthority.openOrCreate(dir.resolve("other-pki"), "stratus-ca")
                .issue(Principals.CONTROL_PLANE, List.of(), List.of()));
        // The foreign client trusts its own CA: give it ours, so only its certificate is wrong.
        KafkaClientSettings foreignTrustingUs = KafkaClientSettings.mutualTls(broker.bootstrapServers(),
                new KafkaClientSettings.Tls(foreign.tls().get().privateKey(), foreign.tls().get().certificateChain(),
                        ca.certificateFile()));
        assertThatThrownBy(() -> produce(foreignTrustingUs, Topics.compute("h1"), "delete"))
                .satisfies(e -> assertThat(causes(e)).anyMatch(c -> c instanceof SslAuthenticationException));
        assertThatThrownBy(() -> consume(foreignTrustingUs, Topics.compute("h1"), Topics.agentGroup("h1")))
                .isInstanceOf(SslAuthenticationException.class);

        // No certificate at all: the broker requires one.
        Properties none = KafkaClientSettings.plaintext(broker.bootstrapServers()).properties("anonymous");
        none.put("security.protocol", "SSL");
        none.put("ssl.truststore.type", "PEM");
        none.put("ssl.truststore.location", ca.certificateFile().toString());
        assertThatThrownBy(() -> produce(none, Topics.compute("h1"), "delete"))
                .satisfies(e -> assertThat(causes(e)).anyMatch(c -> c instanceof SslAuthenticationException));
    }

    private static List<Throwable> causes(Throwable e) {
        List<Throwable> all = new ArrayList<>();
        for (Throwable t = e; t != null && !all.contains(t); t = t.getCause()) {
            all.add(t);
        }
        return all;
    }

    private static KafkaClientSettings.Tls tls(IssuedIdentity id) {
        return new KafkaClientSettings.Tls(id.privateKey(), id.certificateChain(), id.caCertificate());
    }

    private static KafkaClientSettings client(IssuedIdentity id) {
        return KafkaClientSettings.mutualTls(broker.bootstrapServers(), tls(id));
    }

    private static void produce(KafkaClientSettings who, String topic, String value) throws Exception {
        produce(who.properties("test-producer"), topic, value);
    }

    private static void produce(Properties p, String topic, String value) throws Exception {
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(),
                new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", value)).get();
        }
    }

    private static List<String> consume(KafkaClientSettings who, String topic, String group) {
        Properties p = who.properties("test-consumer");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (values.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }
}
