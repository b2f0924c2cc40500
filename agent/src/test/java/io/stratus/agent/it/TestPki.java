package io.stratus.agent.it;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Principals;
import io.stratus.local.pki.CertificateAuthority;
import io.stratus.local.pki.IssuedIdentity;
import java.nio.file.Path;
import java.util.List;

/**
 * The test cloud's CA, as {@code LocalBus} made it: an agent's bus identity is its gRPC identity
 * too, and the control plane's (issued when the test took {@code LocalBus.controlPlane()}) is
 * what the agent serves consoles to.
 */
final class TestPki {
    private static final Path FOREIGN = Path.of("target", "it-pki-foreign").toAbsolutePath();

    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    /** The CA that issued {@code agentBus}'s certificate (its files lie in {@code <ca dir>/<principal>/}). */
    static TestPki of(KafkaClientSettings agentBus) {
        Path ca = agentBus.tls().orElseThrow(() -> new IllegalArgumentException("the bus has no TLS")).caCertificate();
        return new TestPki(ca.toAbsolutePath().getParent().getParent());
    }

    Path caCertificate() {
        return dir.resolve(CertificateAuthority.CA_CERT);
    }

    /** The control plane's identity, as issued already (issuing it again would rewrite files in use). */
    IssuedIdentity controlPlane() {
        Path d = dir.resolve(Principals.CONTROL_PLANE);
        return new IssuedIdentity(Principals.CONTROL_PLANE, d.resolve("key.pem"), d.resolve("cert.pem"),
                d.resolve("ca.pem"));
    }

    /** A new certificate from this CA for {@code principal}, naming {@code dnsNames}. */
    IssuedIdentity issue(String principal, List<String> dnsNames) {
        return CertificateAuthority.openOrCreate(dir, "stratus-ca").issue(principal, dnsNames, List.of());
    }

    /** A certificate from a CA the agents do not trust, for {@code principal}. */
    static IssuedIdentity foreign(String principal) {
        return CertificateAuthority.openOrCreate(FOREIGN, "someone-else").issue(principal, List.of(principal),
                List.of("127.0.0.1"));
    }
}
