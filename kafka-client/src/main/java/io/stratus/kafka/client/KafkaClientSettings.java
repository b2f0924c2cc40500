package io.stratus.kafka.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * How a Stratus process reaches the bus: the brokers, and the TLS material that proves who it is.
 * Every producer, consumer and admin client is made from {@link #properties(String)}, so that
 * turning TLS on is this one type's concern; the caller adds only what its role needs (a group,
 * acks, serializers).
 *
 * <p>The TLS material is PEM (what {@code CertificateAuthority} in local-services, cert-manager
 * and openssl all write): the client's unencrypted PKCS#8 key, its certificate chain and the CA
 * certificate it trusts for the brokers. Kafka reads them as {@code ssl.keystore.type=PEM}; the
 * files are read when properties are made, so a client made after a certificate is renewed uses
 * the new one.
 *
 * @param bootstrapServers {@code host:port[,host:port]}
 * @param tls mutual TLS; empty for a plaintext listener, which only a broker's own tests and
 *            explicitly plaintext set-ups use
 */
public record KafkaClientSettings(String bootstrapServers, Optional<Tls> tls) {
    /** The setting that names the brokers, in each service's configuration and on launchers' command lines. */
    public static final String BOOTSTRAP_KEY = "kafka.bootstrap.servers";
    /** The client's private key (PEM, PKCS#8). */
    public static final String KEY_KEY = "kafka.tls.key";
    /** The client's certificate chain (PEM, leaf first). */
    public static final String CHAIN_KEY = "kafka.tls.certificate-chain";
    /** The CA certificate that signed the brokers' certificates (PEM). */
    public static final String CA_KEY = "kafka.tls.ca";

    /** The three PEM files of a client's identity. */
    public record Tls(Path privateKey, Path certificateChain, Path caCertificate) {
        public Tls {
            Objects.requireNonNull(privateKey, "privateKey");
            Objects.requireNonNull(certificateChain, "certificateChain");
            Objects.requireNonNull(caCertificate, "caCertificate");
        }
    }

    public KafkaClientSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        if (bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("no Kafka bootstrap servers given");
        }
        Objects.requireNonNull(tls, "tls");
    }

    /** A client of a plaintext listener: no authentication, so only where that is chosen on purpose. */
    public static KafkaClientSettings plaintext(String bootstrapServers) {
        return new KafkaClientSettings(bootstrapServers, Optional.empty());
    }

    /** A client that authenticates with its certificate and checks the broker's. */
    public static KafkaClientSettings mutualTls(String bootstrapServers, Tls tls) {
        return new KafkaClientSettings(bootstrapServers, Optional.of(tls));
    }

    /**
     * From a service's configuration: {@link #BOOTSTRAP_KEY} and, for TLS, all three of
     * {@link #KEY_KEY}, {@link #CHAIN_KEY} and {@link #CA_KEY}.
     *
     * @throws IllegalArgumentException some but not all of the TLS files are given
     */
    public static KafkaClientSettings fromConfig(String bootstrapServers, Optional<String> key, Optional<String> chain,
                                                 Optional<String> ca) {
        if (key.isEmpty() && chain.isEmpty() && ca.isEmpty()) {
            return plaintext(bootstrapServers);
        }
        if (key.isEmpty() || chain.isEmpty() || ca.isEmpty()) {
            throw new IllegalArgumentException("Kafka TLS needs " + KEY_KEY + ", " + CHAIN_KEY + " and " + CA_KEY
                    + " together; missing: " + (key.isEmpty() ? KEY_KEY + " " : "")
                    + (chain.isEmpty() ? CHAIN_KEY + " " : "") + (ca.isEmpty() ? CA_KEY : "").trim());
        }
        return mutualTls(bootstrapServers, new Tls(Path.of(key.get()), Path.of(chain.get()), Path.of(ca.get())));
    }

    /** The same identity against other brokers (a host in another network namespace sees them elsewhere). */
    public KafkaClientSettings withBootstrapServers(String other) {
        return new KafkaClientSettings(other, tls);
    }

    /**
     * The connection properties of a client called {@code clientId}: bootstrap servers, client
     * id and, with TLS, the security protocol, key store and trust store.
     *
     * @throws UncheckedIOException a TLS file cannot be read
     */
    public Properties properties(String clientId) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        tls.ifPresent(t -> {
            p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
            p.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
            p.put(SslConfigs.SSL_KEYSTORE_KEY_CONFIG, read(t.privateKey()));
            p.put(SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG, read(t.certificateChain()));
            p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            p.put(SslConfigs.SSL_TRUSTSTORE_CERTIFICATES_CONFIG, read(t.caCertificate()));
        });
        return p;
    }

    /** {@link #properties} as a map, for the client constructors that take one. */
    public Map<String, Object> map(String clientId) {
        Map<String, Object> m = new LinkedHashMap<>();
        properties(clientId).forEach((k, v) -> m.put((String) k, v));
        return m;
    }

    /**
     * These settings as a service's configuration ({@link #BOOTSTRAP_KEY} and the TLS file paths),
     * for a launcher to hand to the process it starts: paths, never the key itself.
     */
    public Map<String, String> serviceConfig() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(BOOTSTRAP_KEY, bootstrapServers);
        tls.ifPresent(t -> {
            m.put(KEY_KEY, t.privateKey().toAbsolutePath().toString());
            m.put(CHAIN_KEY, t.certificateChain().toAbsolutePath().toString());
            m.put(CA_KEY, t.caCertificate().toAbsolutePath().toString());
        });
        return m;
    }

    private static String read(Path pem) {
        try {
            return Files.readString(pem, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Kafka TLS file " + pem + ": " + e.getMessage(), e);
        }
    }
}
