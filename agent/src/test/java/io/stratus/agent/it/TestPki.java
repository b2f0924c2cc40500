package io.stratus.agent.it;

import io.stratus.local.pki.CertificateAuthority;
import io.stratus.local.pki.IssuedIdentity;
import java.nio.file.Path;
import java.util.List;

/** The agent tests' CA (as bin/stratus up makes one), and the control plane's certificate from it. */
final class TestPki {
    private static final Path DIR = Path.of("target", "it-pki").toAbsolutePath();
    private static CertificateAuthority ca;
    private static IssuedIdentity scheduler;

    private TestPki() {
    }

    static synchronized CertificateAuthority ca() {
        if (ca == null) {
            ca = CertificateAuthority.openOrCreate(DIR, "stratus-agent-it-ca");
        }
        return ca;
    }

    /** The principal the agents serve consoles to ({@code stratus.agent.tls.control-plane}'s default). */
    static synchronized IssuedIdentity scheduler() {
        if (scheduler == null) {
            scheduler = ca().issue("scheduler", List.of(), List.of());
        }
        return scheduler;
    }

    /** A certificate from a CA the agents do not trust, for {@code principal}. */
    static IssuedIdentity foreign(String principal) {
        return CertificateAuthority.openOrCreate(DIR.resolveSibling("it-pki-foreign"), "someone-else")
                .issue(principal, List.of(principal), List.of("127.0.0.1"));
    }
}
