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
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Nova's {@code x509} keypairs: an X.509 client certificate in PEM, which Windows guests map to
 * a user for WinRM. Nova generates one as {@code openssl req -x509} does with its config: a
 * self-signed 2048-bit RSA certificate for {@code CN=<user id>}, valid ten years, for client
 * authentication, with the user principal name {@code <user id>@localhost}; the private part is
 * a PKCS#12 file (key and certificate, empty password), base64-encoded. The fingerprint is the
 * certificate's SHA-1. Bouncy Castle builds the certificate; the JDK's PKCS12 key store bundles it.
 */
public final class ClientCertificate {
    /** Microsoft's user principal name, an otherName in the subject alternative names. */
    private static final ASN1ObjectIdentifier USER_PRINCIPAL_NAME = new ASN1ObjectIdentifier("1.3.6.1.4.1.311.20.2.3");
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
            X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, userId).build();
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, new BigInteger(159, RANDOM), Date.from(now),
                    Date.from(now.plus(3650, ChronoUnit.DAYS)), name, pair.getPublic());
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(
                    GeneralName.otherName, new DERSequence(new ASN1Encodable[] {USER_PRINCIPAL_NAME,
                        new DERTaggedObject(true, 0, new DERUTF8String(userId + "@localhost"))}))));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(pair.getPrivate())));
            cert.verify(pair.getPublic());

            KeyStore p12 = KeyStore.getInstance("PKCS12");
            p12.load(null, null);
            p12.setKeyEntry("key", pair.getPrivate(), new char[0], new Certificate[] {cert});
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p12.store(out, new char[0]);
            return new KeyMaterial(SshPublicKey.pem(cert), Base64.getEncoder().encodeToString(out.toByteArray()),
                    new ClientCertificate(cert).fingerprint());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make a client certificate: " + e.getMessage(), e);
        }
    }
}
