package io.stratus.kafka.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientSettingsTest {
    @TempDir
    Path dir;

    @Test
    void plaintextNamesOnlyTheBrokersAndTheClient() {
        Properties p = KafkaClientSettings.plaintext("127.0.0.1:9092").properties("c1");
        assertThat(p).containsOnlyKeys("bootstrap.servers", "client.id").containsEntry("client.id", "c1");
    }

    @Test
    void mutualTlsReadsThePemFilesIntoAPemKeyStoreAndTrustStore() throws Exception {
        Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n");
        Path chain = Files.writeString(dir.resolve("cert.pem"), "CHAIN\n");
        Path ca = Files.writeString(dir.resolve("ca.pem"), "CA\n");
        KafkaClientSettings s = KafkaClientSettings.fromConfig("b:1", Optional.of(key.toString()),
                Optional.of(chain.toString()), Optional.of(ca.toString()));

        Properties p = s.properties("agent-h1");
        assertThat(p).containsEntry("security.protocol", "SSL").containsEntry("ssl.keystore.type", "PEM")
                .containsEntry("ssl.keystore.certificate.chain", "CHAIN").containsEntry("ssl.truststore.type", "PEM")
                .containsEntry("ssl.truststore.certificates", "CA");
        assertThat((String) p.get("ssl.keystore.key")).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(s.serviceConfig()).containsEntry(KafkaClientSettings.KEY_KEY, key.toString())
                .containsEntry(KafkaClientSettings.BOOTSTRAP_KEY, "b:1").doesNotContainValue("CA");
        assertThat(s.withBootstrapServers("other:2").properties("x")).containsEntry("bootstrap.servers", "other:2")
                .containsEntry("security.protocol", "SSL");
    }

    @Test
    void refusesHalfATlsConfiguration() {
        assertThatThrownBy(() -> KafkaClientSettings.fromConfig("b:1", Optional.of("/k"), Optional.empty(),
                Optional.of("/ca"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(KafkaClientSettings.CHAIN_KEY);
    }
}
