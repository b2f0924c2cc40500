package io.stratus.local.pki;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Principals;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The TLS identities of a cloud started on this machine ({@code bin/stratus up}, the integration
 * tests, the benchmarks): one CA in a private directory, and a certificate for the broker, the
 * control plane and each agent, named as {@link Principals} names them. The launcher hands each
 * process the paths of its own files; the broker's ACLs ({@code BusAcls}) do the rest.
 */
public final class BusIdentities {
    private static final String CA_NAME = "stratus-ca";
    private final CertificateAuthority ca;

    private BusIdentities(CertificateAuthority ca) {
        this.ca = ca;
    }

    /** The CA in {@code directory} (0700), made on first use. */
    public static BusIdentities in(Path directory) {
        return new BusIdentities(CertificateAuthority.openOrCreate(directory, CA_NAME));
    }

    /**
     * The broker's identity: its certificate names 127.0.0.1 and localhost, and every address in
     * {@code advertised} that clients (and the broker itself) dial it at.
     */
    public KafkaClientSettings.Tls broker(List<String> advertised) {
        List<String> ips = new ArrayList<>(List.of("127.0.0.1"));
        ips.addAll(advertised);
        return tls(ca.issue(Principals.BROKER, List.of("localhost"), ips));
    }

    /** The control plane's identity (the scheduler, and the tools that act for it). */
    public KafkaClientSettings.Tls controlPlane() {
        return tls(ca.issue(Principals.CONTROL_PLANE, List.of(), List.of()));
    }

    /**
     * The identity of {@code host}'s agent; its certificate names the host too, for its gRPC
     * server: a peer that means to reach {@code host} checks that name.
     */
    public KafkaClientSettings.Tls agent(String host) {
        return tls(ca.issue(Principals.agent(host), List.of(host), List.of()));
    }

    public CertificateAuthority authority() {
        return ca;
    }

    private static KafkaClientSettings.Tls tls(IssuedIdentity id) {
        return new KafkaClientSettings.Tls(id.privateKey(), id.certificateChain(), id.caCertificate());
    }
}
