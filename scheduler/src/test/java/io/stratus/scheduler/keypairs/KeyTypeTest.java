package io.stratus.scheduler.keypairs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keys as Nova takes and makes them: fingerprints as Nova (and ssh-keygen -E md5, openssl x509
 * -fingerprint -sha1) computes them, the keys pyca/cryptography refuses refused, and generated
 * keys that OpenSSH and OpenSSL tools read.
 */
class KeyTypeTest {
    /** Tempest's imported key (test_keypair_create_with_pub_key). */
    static final String TEMPEST_RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMW"
            + "W+/vdaZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1PI1mrVjZ61i0G"
            + "Y3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pCtLOeB1kYMOBaiUPLQTWXR3J"
            + "pckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4weZpbn8vilb3JuDY+jwssnSA8wzBx3A/8y9Pp1B"
            + " nova@ubuntu";
    static final String ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIwFPWnUBqUCg8mEh+d2NF6HNPxw0mSdKED9DWfzcP9c"
            + " root@vm";
    static final String ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBM9IqhASAz9ty"
            + "4vgnziGYGdxOp/3OJv95Gxcj5TS9tv2iT+s/scsMPyiNvhwemjiSNHbKF9qEkot+VKSDV+VPyc= root@vm";
    /** openssl req -x509 -newkey rsa:1024 -subj /CN=test. */
    static final String CERTIFICATE = "-----BEGIN CERTIFICATE-----\n"
            + "MIIB+jCCAWOgAwIBAgIUAIGGKS1FK8xBhUgna7KVRj0iK6gwDQYJKoZIhvcNAQEL\n"
            + "BQAwDzENMAsGA1UEAwwEdGVzdDAeFw0yNjEyMDYxNzAwMDJaFw0yNjEyMDcxNzAw\n"
            + "MDJaMA8xDTALBgNVBAMMBHRlc3QwgZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGB\n"
            + "AMYG1OALvGaGIiazkBiqMwYICnVIy0U00E3V53agM/grO/VPz0onr8ziP4Lb+CLV\n"
            + "pLA5rve+Qt1Ao2UtBERZrzj4NP5o6ovf9wwWEoldCdTmNDYkDauKt6z5xHe9zfxx\n"
            + "cH8R3Mu6n8kAhzm7/iN4KgFCBZAXjc1EkyMx0j6Hlv1TAgMBAAGjUzBRMB0GA1Ud\n"
            + "DgQWBBSEdyYf9K+XvC0DMI2Vwj/Y2+h3XTAfBgNVHSMEGDAWgBSEdyYf9K+XvC0D\n"
            + "MI2Vwj/Y2+h3XTAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4GBADtZ\n"
            + "NQKzk61u5q6fEChkSZbne+EZegPsJeIPCQIIhC+tmlR1hwESdkNbDb5BkFlTa9S4\n"
            + "tyKjBqRNkICXHNHcAlk/CneY2pFjaXXhOhKPif1HOvfQg3072n76qbeWLtyM+RWR\n"
            + "GRT66EkD8LY8m+j4K2NkWDmPgj4KVz2dhJztxtS4\n"
            + "-----END CERTIFICATE-----\n";

    @Test
    void fingerprintsAreNovas() {
        assertThat(KeyType.SSH.fingerprint(TEMPEST_RSA)).isEqualTo("61:5f:fe:c7:e0:fd:d7:4a:2b:52:6e:a6:f5:bf:da:27");
        assertThat(KeyType.SSH.fingerprint(ED25519)).isEqualTo("f2:9d:a7:e7:9a:e2:28:8f:59:82:6b:d9:17:4f:dd:60");
        assertThat(KeyType.SSH.fingerprint(ECDSA + "\n")).isEqualTo("bd:78:a4:62:13:3f:f4:31:20:80:c9:37:51:99:f3:fc");
        assertThat(KeyType.SSH.fingerprint(ED25519.substring(0, ED25519.indexOf(" root"))))
                .as("no comment").isEqualTo("f2:9d:a7:e7:9a:e2:28:8f:59:82:6b:d9:17:4f:dd:60");
        assertThat(KeyType.X509.fingerprint(CERTIFICATE))
                .isEqualTo("ba:0e:41:40:52:c9:37:c7:de:7c:b5:be:26:83:2e:ea:1f:b4:48:bc");
    }

    @Test
    void refusesWhatNovaRefuses() {
        String blob = TEMPEST_RSA.split(" ")[1];
        byte[] raw = Base64.getDecoder().decode(blob);
        byte[] ecPoint = Base64.getDecoder().decode(ECDSA.split(" ")[1]);
        ecPoint[ecPoint.length - 1] ^= 1;
        List<String> bad = List.of(
                "ssh-rsa JUNK nova@ubuntu", // tempest: not a key
                " ", "", // tempest: empty
                "ssh-rsa " + "A".repeat(2048) + " openstack@ubuntu", // tempest: too long (zeros)
                "ssh-rsa\t" + blob, // Nova fingerprints the second space-separated word
                " " + TEMPEST_RSA,
                "ssh-dss " + blob, // the blob says ssh-rsa
                "ssh-rsa " + Base64.getEncoder().encodeToString(concat(raw, new byte[] {1})), // trailing data
                "ssh-rsa " + blob.substring(0, blob.length() - 4), // truncated
                "ssh-rsa " + blob.substring(0, blob.length() - 1), // padding
                "ecdsa-sha2-nistp256 " + Base64.getEncoder().encodeToString(ecPoint), // off the curve
                "ssh-ed25519 " + Base64.getEncoder().encodeToString(concat(string("ssh-ed25519"), string(new byte[31]))),
                "ssh-rsa " + Base64.getEncoder().encodeToString(concat(string("ssh-rsa"), string(new byte[] {1, 0, 0}),
                        string(new byte[] {0, (byte) 0xff, (byte) 0xff}))), // even exponent
                "ssh-rsa " + Base64.getEncoder().encodeToString(concat(string("ssh-rsa"), string(new byte[] {1, 0, 1}),
                        string(new byte[] {(byte) 0xff, (byte) 0xff}))), // negative modulus
                "ecdsa-sha2-nistp999 AAAA",
                CERTIFICATE);
        for (String key : bad) {
            assertThatThrownBy(() -> KeyType.SSH.fingerprint(key)).as(key).isInstanceOf(InvalidKeypairException.class);
        }
        assertThatThrownBy(() -> KeyType.X509.fingerprint(TEMPEST_RSA)).isInstanceOf(InvalidKeypairException.class)
                .hasMessageContaining("PEM");
        assertThatThrownBy(() -> KeyType.X509.fingerprint(CERTIFICATE.replace("MIIB+jCC", "MIIB+jCD")))
                .isInstanceOf(InvalidKeypairException.class);
    }

    @Test
    void aGeneratedSshKeyIsAnOpenSshKeyWithItsPkcs1PrivateKey() throws Exception {
        KeyMaterial k = KeyType.SSH.generate("u1");
        assertThat(k.publicKey()).startsWith("ssh-rsa AAAAB3NzaC1yc2E");
        assertThat(k.fingerprint()).isEqualTo(KeyType.SSH.fingerprint(k.publicKey())).matches("([0-9a-f]{2}:){15}[0-9a-f]{2}");
        assertThat(k.privateKey()).startsWith("-----BEGIN RSA PRIVATE KEY-----\n").endsWith("-----END RSA PRIVATE KEY-----\n");
        // The private key's modulus is the public key's.
        byte[] pkcs1 = Base64.getMimeDecoder().decode(k.privateKey().replaceAll("-----[A-Z ]+-----", ""));
        ByteBuffer pub = ByteBuffer.wrap(Base64.getDecoder().decode(k.publicKey().split(" ")[1]));
        skip(pub);
        skip(pub);
        byte[] modulus = new byte[pub.getInt()];
        pub.get(modulus);
        assertThat(indexOf(pkcs1, modulus)).isPositive();
        assertThat(KeyType.SSH.generate("u1").publicKey()).isNotEqualTo(k.publicKey());
    }

    @Test
    void aGeneratedCertificateIsNovasClientCertificateWithItsKeyInPkcs12() throws Exception {
        KeyMaterial k = KeyType.X509.generate("3b1f0c2e9d");
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(k.publicKey().getBytes(StandardCharsets.US_ASCII)));
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=3b1f0c2e9d");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(cert.getSubjectAlternativeNames()).hasSize(1);
        assertThat(cert.getSubjectAlternativeNames().iterator().next().get(0)).isEqualTo(0); // otherName
        assertThat(cert.getNotAfter().getTime() - cert.getNotBefore().getTime()).isEqualTo(3650L * 86400 * 1000);
        cert.verify(cert.getPublicKey());
        assertThat(k.fingerprint()).isEqualTo(KeyType.X509.fingerprint(k.publicKey()));
        KeyStore p12 = KeyStore.getInstance("PKCS12");
        p12.load(new ByteArrayInputStream(Base64.getDecoder().decode(k.privateKey())), new char[0]);
        String alias = p12.aliases().nextElement();
        assertThat(p12.getCertificate(alias)).isEqualTo(cert);
        assertThat(p12.getKey(alias, new char[0]).getAlgorithm()).isEqualTo("RSA");
    }

    private static void skip(ByteBuffer b) {
        b.position(b.position() + 4 + b.getInt(b.position()));
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static byte[] string(String s) {
        return string(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] string(byte[] s) {
        return ByteBuffer.allocate(4 + s.length).putInt(s.length).put(s).array();
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }
}
