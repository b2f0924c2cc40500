package io.stratus.local.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority kept as two PEM files in a private directory: it signs one
 * certificate per principal (an agent, the scheduler, the broker) so that every hop of the control
 * plane can authenticate its peer by the certificate's common name. It is what {@code bin/stratus
 * up}, the tests and the benchmarks use; a real deployment brings its own (cert-manager, an
 * organisation's CA) and only the issued files' shape matters.
 *
 * <p>Keys are EC P-256: quick to make (a cloud with a dozen agents issues a dozen at start) and
 * read by Kafka's PEM key store, Netty and the JDK alike. Leaf certificates serve both as TLS
 * server and client certificates, since an agent is a gRPC server and a Kafka client.
 *
 * <p>The directory is 0700 and every file 0600 ({@link PrivateFiles}): the CA key lets its holder
 * be anyone.
 */
public final class CertificateAuthority {
    /** The CA key's file name in the CA directory. */
    public static final String CA_KEY = "ca.key";
    /** The CA certificate's file name in the CA directory. */
    public static final String CA_CERT = "ca.crt";
    static final String KEY = "key.pem";
    static final String CHAIN = "cert.pem";
    static final String TRUST = "ca.pem";
    private static final Duration CA_LIFETIME = Duration.ofDays(3650);
    private static final Duration LEAF_LIFETIME = Duration.ofDays(825);
    /** Names that are safe as a Kafka principal, an ACL entry, a file name and a DN value at once. */
    private static final Pattern PRINCIPAL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final String SIGNATURE = "SHA256withECDSA";

    private final Path directory;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final SecureRandom random = new SecureRandom();

    private CertificateAuthority(Path directory, PrivateKey key, X509Certificate certificate) {
        this.directory = directory;
        this.key = key;
        this.certificate = certificate;
    }

    /**
     * The CA in {@code directory}: loaded when its key and certificate are there, made (with the
     * common name {@code name}) when neither is.
     *
     * @throws PkiException one file is there without the other, a file is not a CA key or
     *                      certificate, the two do not belong together, or the CA has expired
     */
    public static CertificateAuthority openOrCreate(Path directory, String name) {
        checkPrincipal(name);
        Path dir = directory.toAbsolutePath();
        Path keyFile = dir.resolve(CA_KEY);
        Path certFile = dir.resolve(CA_CERT);
        try {
            PrivateFiles.directory(dir);
            boolean hasKey = Files.exists(keyFile);
            boolean hasCert = Files.exists(certFile);
            if (hasKey && hasCert) {
                return load(dir, keyFile, certFile);
            }
            if (hasKey || hasCert) {
                throw new PkiException("the CA in " + dir + " is incomplete: " + (hasKey ? CA_CERT : CA_KEY)
                        + " is missing (remove the other file to make a new CA)");
            }
            KeyPair pair = newKeyPair();
            X500Name subject = distinguishedName(name);
            Instant now = Instant.now();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(new SecureRandom()),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(CA_LIFETIME)), subject,
                    pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate cert = sign(builder, pair.getPrivate());
            PrivateFiles.write(keyFile, pem(new JcaPKCS8Generator(pair.getPrivate(), null)));
            PrivateFiles.write(certFile, pem(cert));
            return new CertificateAuthority(dir, pair.getPrivate(), cert);
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot make or read the CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Signs a new key pair for {@code principal} and writes it under this CA's directory, in
     * {@code <principal>/} ({@link IssuedIdentity} names the files), replacing an earlier one.
     *
     * @param dnsNames DNS subject alternative names (a TLS client checks the server's name there)
     * @param ipAddresses IP literals, for peers that dial an address rather than a name
     */
    public IssuedIdentity issue(String principal, List<String> dnsNames, List<String> ipAddresses) {
        checkPrincipal(principal);
        List<GeneralName> names = new ArrayList<>();
        for (String dns : dnsNames) {
            names.add(new GeneralName(GeneralName.dNSName, dns));
        }
        for (String ip : ipAddresses) {
            names.add(new GeneralName(GeneralName.iPAddress, ipLiteral(ip)));
        }
        Path dir = directory.resolve(principal);
        try {
            PrivateFiles.directory(dir);
            KeyPair pair = newKeyPair();
            Instant now = Instant.now();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate,
                    serial(random), Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(LEAF_LIFETIME)),
                    distinguishedName(principal), pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(pair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(certificate));
            if (!names.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            X509Certificate leaf = sign(builder, key);
            IssuedIdentity issued = new IssuedIdentity(principal, dir.resolve(KEY), dir.resolve(CHAIN),
                    dir.resolve(TRUST));
            PrivateFiles.write(issued.privateKey(), pem(new JcaPKCS8Generator(pair.getPrivate(), null)));
            PrivateFiles.write(issued.certificateChain(), pem(leaf, certificate));
            PrivateFiles.write(issued.caCertificate(), pem(certificate));
            return issued;
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot issue a certificate for " + principal + " in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /** The CA certificate, for peers that trust it. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The CA certificate's file. */
    public Path certificateFile() {
        return directory.resolve(CA_CERT);
    }

    public Path directory() {
        return directory;
    }

    /** Reads every certificate of a PEM file (a chain: leaf first). */
    public static List<X509Certificate> readCertificates(Path pem) {
        List<X509Certificate> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
            JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof X509CertificateHolder holder) {
                    out.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot read certificates from " + pem + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new PkiException(pem + " holds no certificate");
        }
        return out;
    }

    /** Reads an unencrypted PKCS#8 private key. */
    public static PrivateKey readPrivateKey(Path pem) {
        try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
            Object o = parser.readObject();
            if (!(o instanceof PrivateKeyInfo info)) {
                throw new PkiException(pem + " holds no unencrypted PKCS#8 private key");
            }
            return new JcaPEMKeyConverter().getPrivateKey(info);
        } catch (IOException e) {
            throw new PkiException("cannot read the private key in " + pem + ": " + e.getMessage(), e);
        }
    }

    private static CertificateAuthority load(Path dir, Path keyFile, Path certFile) throws GeneralSecurityException {
        PrivateKey key = readPrivateKey(keyFile);
        X509Certificate cert = readCertificates(certFile).get(0);
        if (cert.getBasicConstraints() < 0) {
            throw new PkiException(certFile + " is not a CA certificate");
        }
        cert.checkValidity();
        // The key must be the certificate's: sign a probe with one, verify with the other.
        Signature signer = Signature.getInstance(SIGNATURE);
        signer.initSign(key);
        byte[] probe = "stratus-ca-probe".getBytes(StandardCharsets.US_ASCII);
        signer.update(probe);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(SIGNATURE);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(probe);
        if (!verifier.verify(signature)) {
            throw new PkiException(keyFile + " is not the key of " + certFile);
        }
        return new CertificateAuthority(dir, key, cert);
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
            throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with " + SIGNATURE + ": " + e.getMessage(), e);
        }
    }

    private static X500Name distinguishedName(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Stratus").addRDN(BCStyle.CN, commonName)
                .build();
    }

    /** Positive, 159 bits: unique enough that two issues never share one (RFC 5280 allows 20 bytes). */
    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(159, random).add(BigInteger.ONE);
    }

    private static String ipLiteral(String ip) {
        // A literal only: resolving a name here would put whatever DNS says into a certificate.
        if (!ip.matches("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")) {
            throw new IllegalArgumentException("not an IP address literal: " + ip);
        }
        try {
            return InetAddress.getByName(ip).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address literal: " + ip, e);
        }
    }

    private static void checkPrincipal(String principal) {
        if (principal == null || !PRINCIPAL.matcher(principal).matches()) {
            throw new IllegalArgumentException("a principal is 1..64 letters, digits, '.', '_' or '-' (not starting"
                    + " with a symbol), not " + principal);
        }
    }

    private static byte[] pem(Object... objects) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                if (o instanceof JcaPKCS8Generator key) {
                    writer.writeObject(key);
                } else {
                    writer.writeObject(o);
                }
            }
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
