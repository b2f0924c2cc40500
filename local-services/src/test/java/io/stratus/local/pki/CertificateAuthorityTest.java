package io.stratus.local.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path dir;

    @Test
    void issuedChainVerifiesAgainstItsCaAndNamesThePrincipal() throws Exception {
        CertificateAuthority ca = CertificateAuthority.openOrCreate(dir.resolve("pki"), "stratus-ca");
        IssuedIdentity agent = ca.issue("agent-host1", List.of("localhost"), List.of("127.0.0.1", "::1"));

        List<X509Certificate> chain = CertificateAuthority.readCertificates(agent.certificateChain());
        assertThat(chain).hasSize(2);
        X509Certificate leaf = chain.get(0);
        validate(List.of(leaf), CertificateAuthority.readCertificates(agent.caCertificate()).get(0));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=agent-host1,O=Stratus");
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getSubjectAlternativeNames()).extracting(n -> (Object) n.get(1))
                .containsExactlyInAnyOrder((Object) "localhost", "127.0.0.1", "0:0:0:0:0:0:0:1");
        assertThat(signsFor(CertificateAuthority.readPrivateKey(agent.privateKey()), leaf)).isTrue();
    }

    @Test
    void certificateOfAnotherCaDoesNotVerify() throws Exception {
        CertificateAuthority ours = CertificateAuthority.openOrCreate(dir.resolve("ours"), "stratus-ca");
        CertificateAuthority theirs = CertificateAuthority.openOrCreate(dir.resolve("theirs"), "stratus-ca");
        IssuedIdentity forged = theirs.issue("agent-host1", List.of(), List.of());

        X509Certificate leaf = CertificateAuthority.readCertificates(forged.certificateChain()).get(0);
        assertThatThrownBy(() -> validate(List.of(leaf), ours.certificate()))
                .isInstanceOf(CertPathValidatorException.class);
    }

    @Test
    void reopeningLoadsTheSameCaAndKeepsItsFilesPrivate() throws Exception {
        Path pki = dir.resolve("pki");
        CertificateAuthority first = CertificateAuthority.openOrCreate(pki, "stratus-ca");
        IssuedIdentity scheduler = first.issue("scheduler", List.of("localhost"), List.of());
        CertificateAuthority again = CertificateAuthority.openOrCreate(pki, "stratus-ca");

        assertThat(again.certificate()).isEqualTo(first.certificate());
        validate(List.of(CertificateAuthority.readCertificates(scheduler.certificateChain()).get(0)),
                again.certificate());
        assertThat(mode(pki)).isEqualTo("rwx------");
        assertThat(mode(scheduler.directory())).isEqualTo("rwx------");
        for (Path f : List.of(pki.resolve(CertificateAuthority.CA_KEY), pki.resolve(CertificateAuthority.CA_CERT),
                scheduler.privateKey(), scheduler.certificateChain(), scheduler.caCertificate())) {
            assertThat(mode(f)).as(f.toString()).isEqualTo("rw-------");
        }
    }

    @Test
    void refusesAKeyThatIsNotTheCertificatesAndAHalfCa() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        CertificateAuthority.openOrCreate(a, "stratus-ca");
        CertificateAuthority.openOrCreate(b, "stratus-ca");
        Files.copy(b.resolve(CertificateAuthority.CA_KEY), a.resolve(CertificateAuthority.CA_KEY),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> CertificateAuthority.openOrCreate(a, "stratus-ca")).isInstanceOf(PkiException.class)
                .hasMessageContaining("is not the key of");

        Files.delete(b.resolve(CertificateAuthority.CA_CERT));
        assertThatThrownBy(() -> CertificateAuthority.openOrCreate(b, "stratus-ca")).isInstanceOf(PkiException.class)
                .hasMessageContaining("incomplete");
    }

    @Test
    void refusesPrincipalsThatCannotBeAnAclNameOrADirectory() {
        CertificateAuthority ca = CertificateAuthority.openOrCreate(dir.resolve("pki"), "stratus-ca");
        for (String bad : List.of("", "../etc", "a,CN=admin", "User:x", "a".repeat(65))) {
            assertThatThrownBy(() -> ca.issue(bad, List.of(), List.of())).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> ca.issue("agent-x", List.of(), List.of("example.org")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static void validate(List<X509Certificate> path, X509Certificate anchor) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX")
                .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
    }

    private static boolean signsFor(PrivateKey key, X509Certificate cert) throws Exception {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key);
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(cert.getPublicKey());
        v.update(new byte[] {1, 2, 3});
        return v.verify(sig);
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
