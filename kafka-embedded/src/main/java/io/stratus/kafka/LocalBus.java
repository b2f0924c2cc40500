package io.stratus.kafka;

import io.stratus.kafka.client.BusAcls;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Principals;
import io.stratus.local.pki.BusIdentities;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The bus of a cloud on this machine, authenticated as a deployment's is: the embedded broker
 * with mutual TLS and ACLs, the CA that issued its certificate, and the identities its clients
 * are given. The one way {@code bin/stratus up}, the integration tests, the agent's tests and
 * the benchmarks start a broker for services.
 *
 * <pre>{@code
 * try (LocalBus bus = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")),
 *         dir.resolve("pki"), List.of())) {
 *     scheduler.putAll(bus.controlPlane().serviceConfig());
 *     agent.putAll(bus.agent("h1").serviceConfig());
 * }
 * }</pre>
 */
public final class LocalBus implements AutoCloseable {
    private final EmbeddedKafkaBroker.Settings settings;
    /** Null for a plaintext bus ({@link #startPlaintext}). */
    private final BusIdentities identities;
    private EmbeddedKafkaBroker broker;

    private LocalBus(EmbeddedKafkaBroker.Settings settings, BusIdentities identities, EmbeddedKafkaBroker broker) {
        this.settings = settings;
        this.identities = identities;
        this.broker = broker;
    }

    /**
     * Makes (or opens) the CA in {@code pki}, issues the broker's certificate for 127.0.0.1 and
     * {@code advertised}, and starts the broker of {@code settings} with TLS; the control plane
     * is its super user.
     */
    public static LocalBus start(EmbeddedKafkaBroker.Settings settings, Path pki, List<String> advertised) {
        BusIdentities identities = BusIdentities.in(pki);
        EmbeddedKafkaBroker.Settings secured = settings.withTls(new EmbeddedKafkaBroker.Tls(
                identities.broker(advertised), Set.of(Principals.CONTROL_PLANE)));
        return new LocalBus(secured, identities, EmbeddedKafkaBroker.start(secured));
    }

    /**
     * The broker of {@code settings} without TLS, authentication or ACLs, and clients without
     * certificates (so services given its settings serve plaintext gRPC too): only for the
     * benchmarks that measure what security costs, never for a cloud.
     */
    public static LocalBus startPlaintext(EmbeddedKafkaBroker.Settings settings) {
        return new LocalBus(settings, null, EmbeddedKafkaBroker.start(settings));
    }

    /** The control plane's client settings: the scheduler's, and a test's that acts for it. */
    public KafkaClientSettings controlPlane() {
        return identities == null ? KafkaClientSettings.plaintext(bootstrapServers())
                : KafkaClientSettings.mutualTls(bootstrapServers(), identities.controlPlane());
    }

    /**
     * {@code host}'s agent's client settings, with the broker's ACLs for it granted: what it reads
     * and writes on the bus, and nothing more.
     */
    public KafkaClientSettings agent(String host) {
        if (identities == null) {
            return KafkaClientSettings.plaintext(bootstrapServers());
        }
        broker.allow(BusAcls.forAgent(host));
        return KafkaClientSettings.mutualTls(bootstrapServers(), identities.agent(host));
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    public EmbeddedKafkaBroker broker() {
        return broker;
    }

    public EmbeddedKafkaBroker.Settings settings() {
        return settings;
    }

    /** Stops the broker and starts it again on the same data, ports and certificate. */
    public void restart() {
        broker.close();
        broker = EmbeddedKafkaBroker.start(settings);
    }

    @Override
    public void close() {
        broker.close();
    }
}
