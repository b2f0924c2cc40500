package io.stratus.scheduler.keypairs;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Base64;

/**
 * Nova's {@code x509} keypairs: an X.509 client certificate in PEM, which Windows guests map to
 * a user for WinRM. Nova generates one as {@code openssl req -x509} does with its config: a
 * self-signed 2048-bit RSA certificate for {@code CN=<user id>}, valid ten years, for client
 * authentication, with the user principal name {@code <user id>@localhost}; the private part is
 * a PKCS#12 file (key and certificate, empty password), base64-encoded. The fingerprint is the
 * certificate's SHA-1.
 */
public final class ClientCertificate {
    private static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    private static final String COMMON_NAME = "2.5.4.3";
    private static final String EXTENDED_KEY_USAGE = "2.5.29.37";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String SUBJECT_ALT_NAME = "2.5.29.17";
    private static final String USER_PRINCIPAL_NAME = "1.3.6.1.4.1.311.20.2.3";
    private static final String PEM_HEADER = "-----BEGIN CERTIFICATE-----";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;

    private ClientCertificate(X509Certificate certificate) {
        this.certificate = certificate;
    }

    /**
     * Reads a PEM certificate.
     *
     * @throws InvalidKeypairException when it is not one
     */
    public static ClientCertificate parse(String pem) {
        if (!pem.contains(PEM_HEADER)) {
            throw new InvalidKeypairException("an x509 keypair's public key is a certificate in PEM ("
                    + PEM_HEADER + " ...)");
        }
        try {
            Certificate c = CertificateFactory.getInstance("X.509").generateCertificate(
                    new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)));
            return new ClientCertificate((X509Certificate) c);
        } catch (CertificateException | RuntimeException e) {
            throw new InvalidKeypairException("failed to generate X509 fingerprint: the certificate cannot be read ("
                    + e.getMessage() + ")", e);
        }
    }

    /** The SHA-1 of the certificate (DER), as colon-separated lowercase hex. */
    public String fingerprint() {
        try {
            return SshPublicKey.colonHex(SshPublicKey.digest("SHA-1", certificate.getEncoded()));
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    static KeyMaterial generate(String userId) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            KeyPair pair = g.generateKeyPair();
            byte[] name = Der.sequence(Der.set(Der.sequence(Der.oid(COMMON_NAME), Der.utf8(userId))));
            byte[] algorithm = Der.sequence(Der.oid(SHA256_WITH_RSA), Der.nullValue());
            byte[] serial = new byte[20];
            RANDOM.nextBytes(serial);
            serial[0] &= 0x7F;
            ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).withNano(0);
            byte[] extensions = Der.sequence(
                    Der.sequence(Der.oid(EXTENDED_KEY_USAGE),
                            Der.octetString(Der.sequence(Der.oid(CLIENT_AUTH)))),
                    Der.sequence(Der.oid(SUBJECT_ALT_NAME),
                            Der.octetString(Der.sequence(Der.context(0, Der.oid(USER_PRINCIPAL_NAME),
                                    Der.context(0, Der.utf8(userId + "@localhost")))))));
            byte[] tbs = Der.sequence(
                    Der.context(0, Der.integer(2)),
                    Der.integer(new BigInteger(serial)),
                    algorithm,
                    name,
                    Der.sequence(Der.time(now), Der.time(now.plusDays(3650))),
                    name,
                    pair.getPublic().getEncoded(),
                    Der.context(3, extensions));
            Signature signer = Signature.getInstance("SHA256withRSA");
            signer.initSign(pair.getPrivate());
            signer.update(tbs);
            byte[] der = Der.sequence(tbs, algorithm, Der.bitString(signer.sign()));
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            cert.verify(pair.getPublic());

            KeyStore p12 = KeyStore.getInstance("PKCS12");
            p12.load(null, null);
            p12.setKeyEntry("key", pair.getPrivate(), new char[0], new Certificate[] {cert});
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p12.store(out, new char[0]);
            return new KeyMaterial(SshPublicKey.pem("CERTIFICATE", der),
                    Base64.getEncoder().encodeToString(out.toByteArray()), new ClientCertificate(cert).fingerprint());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot make a client certificate: " + e.getMessage(), e);
        }
    }
}
