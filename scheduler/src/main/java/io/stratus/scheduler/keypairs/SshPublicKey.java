package io.stratus.scheduler.keypairs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.DSAParameters;
import org.bouncycastle.crypto.params.DSAPublicKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.util.OpenSSHPublicKeyUtil;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * An OpenSSH public key line ({@code ssh-rsa AAAA... comment}), checked as Nova checks an imported
 * key (pyca/cryptography's {@code load_ssh_public_key}): RSA, DSA (1024 bits), ECDSA on NIST
 * P-256/384/521 and Ed25519, and OpenSSH certificates of those; the blob's own type must be the
 * line's, every field must be there and nothing may follow them. Bouncy Castle reads the key
 * itself (and checks the RSA modulus, the Ed25519 point, that an ECDSA point is on its curve); the
 * checks around it are Nova's. The fingerprint is Nova's: MD5 of the blob.
 */
public final class SshPublicKey {
    private static final Pattern LINE = Pattern.compile("\\A(\\S+)[ \\t]+(\\S+)");
    private static final String CERT_SUFFIX = "-cert-v01@openssh.com";
    private static final Map<String, String> CURVES = Map.of(
            "ecdsa-sha2-nistp256", "nistp256",
            "ecdsa-sha2-nistp384", "nistp384",
            "ecdsa-sha2-nistp521", "nistp521");
    /** The SSH strings that make up each type's key. */
    private static final Map<String, Integer> FIELDS = Map.of(
            "ssh-rsa", 2, "ssh-dss", 4, "ssh-ed25519", 1,
            "ecdsa-sha2-nistp256", 2, "ecdsa-sha2-nistp384", 2, "ecdsa-sha2-nistp521", 2);

    private final String type;
    private final byte[] blob;

    private SshPublicKey(String type, byte[] blob) {
        this.type = type;
        this.blob = blob;
    }

    /** The key type, e.g. {@code ssh-ed25519}. */
    public String type() {
        return type;
    }

    /** Nova's fingerprint: the MD5 of the key blob, as colon-separated lowercase hex. */
    public String fingerprint() {
        return colonHex(digest("MD5", blob));
    }

    /**
     * Reads and checks one public key line.
     *
     * @throws InvalidKeypairException saying what is wrong with it
     */
    public static SshPublicKey parse(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.find()) {
            throw new InvalidKeypairException("a public key is one line 'TYPE BASE64 [COMMENT]', e.g."
                    + " 'ssh-ed25519 AAAAC3Nza... me@host'");
        }
        String outerType = m.group(1);
        // Nova fingerprints the second space-separated word: a key separated otherwise it cannot take.
        if (!line.startsWith(outerType + " " + m.group(2))) {
            throw new InvalidKeypairException("the key type and the key must be separated by one space");
        }
        boolean certificate = outerType.endsWith(CERT_SUFFIX);
        String keyType = certificate ? outerType.substring(0, outerType.length() - CERT_SUFFIX.length()) : outerType;
        if (!keyType.equals("ssh-rsa") && !keyType.equals("ssh-dss") && !keyType.equals("ssh-ed25519")
                && !CURVES.containsKey(keyType)) {
            throw new InvalidKeypairException("unsupported key type '" + outerType + "': ssh-rsa, ssh-ed25519,"
                    + " ecdsa-sha2-nistp256/384/521 and ssh-dss keys (or their OpenSSH certificates) are");
        }
        byte[] blob = base64(m.group(2));
        Reader r = new Reader(blob);
        String inner = new String(r.string(), StandardCharsets.UTF_8);
        if (!inner.equals(outerType)) {
            throw new InvalidKeypairException("the key says it is '" + inner + "' but the line says '" + outerType + "'");
        }
        if (certificate) {
            r.string(); // nonce
        }
        // The key's own fields, which Bouncy Castle reads as a plain key blob of that type.
        byte[][] fields = new byte[FIELDS.get(keyType)][];
        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        putString(plain, keyType.getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < fields.length; i++) {
            fields[i] = r.string();
            putString(plain, fields[i]);
        }
        if (certificate) {
            r.u64(); // serial
            r.u32(); // certificate type
            r.string(); // key id
            r.string(); // valid principals
            r.u64(); // valid after
            r.u64(); // valid before
            r.string(); // critical options
            r.string(); // extensions
            r.string(); // reserved
            r.string(); // signature key
            r.string(); // signature
        }
        if (r.remaining() != 0) {
            throw new InvalidKeypairException("the key has " + r.remaining() + " bytes of unexpected trailing data");
        }
        check(keyType, fields, plain.toByteArray());
        return new SshPublicKey(outerType, blob);
    }

    /** What pyca/cryptography checks beyond reading the key (and Bouncy Castle's own checks as it reads it). */
    private static void check(String keyType, byte[][] fields, byte[] plainBlob) {
        if (!keyType.equals("ssh-ed25519") && !CURVES.containsKey(keyType)) {
            for (byte[] mpint : fields) {
                if (mpint.length > 0 && (mpint[0] & 0x80) != 0) {
                    throw new InvalidKeypairException("the key holds a negative number");
                }
            }
        }
        if (CURVES.containsKey(keyType)) {
            String named = new String(fields[0], StandardCharsets.UTF_8);
            if (!named.equals(CURVES.get(keyType))) {
                throw new InvalidKeypairException("curve name mismatch: " + named + " in an " + keyType + " key");
            }
            if (fields[1].length == 0 || fields[1][0] != 4) {
                throw new InvalidKeypairException("the ECDSA point must be uncompressed");
            }
        }
        AsymmetricKeyParameter key;
        try {
            key = OpenSSHPublicKeyUtil.parsePublicKey(plainBlob);
        } catch (RuntimeException e) {
            throw new InvalidKeypairException("the " + keyType + " key cannot be read: " + e.getMessage(), e);
        }
        if (key instanceof RSAKeyParameters) {
            BigInteger e = ((RSAKeyParameters) key).getExponent();
            BigInteger n = ((RSAKeyParameters) key).getModulus();
            if (e.compareTo(BigInteger.valueOf(3)) < 0 || e.compareTo(n) >= 0) {
                throw new InvalidKeypairException("the RSA exponent must be >= 3 and < the modulus");
            }
            if (!e.testBit(0)) {
                throw new InvalidKeypairException("the RSA exponent must be odd");
            }
        } else if (key instanceof DSAPublicKeyParameters) {
            DSAParameters dsa = ((DSAPublicKeyParameters) key).getParameters();
            if (dsa.getP().bitLength() != 1024) {
                throw new InvalidKeypairException("SSH supports only 1024 bit DSA keys");
            }
            int qBits = dsa.getQ().bitLength();
            if (qBits != 160 && qBits != 224 && qBits != 256) {
                throw new InvalidKeypairException("the DSA q must be 160, 224 or 256 bits long");
            }
            if (dsa.getG().compareTo(BigInteger.ONE) <= 0 || dsa.getG().compareTo(dsa.getP()) >= 0) {
                throw new InvalidKeypairException("the DSA g must be > 1 and < p");
            }
        }
    }

    /**
     * Decodes the key's base64 as Python's {@code binascii.a2b_base64} does: characters outside
     * the alphabet are skipped, the padding must be complete.
     */
    private static byte[] base64(String text) {
        StringBuilder clean = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
                clean.append(c);
            }
        }
        if (clean.length() % 4 != 0) {
            throw new InvalidKeypairException("the key is not valid base64 (incomplete padding)");
        }
        try {
            return Base64.getDecoder().decode(clean.toString());
        } catch (IllegalArgumentException e) {
            throw new InvalidKeypairException("the key is not valid base64: " + e.getMessage());
        }
    }

    /** A new 2048-bit RSA key: the public line, the private key in PEM (PKCS#1, as ssh-keygen wrote it) and the fingerprint. */
    static KeyMaterial generate() {
        KeyPair pair;
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            pair = g.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String line;
        try {
            line = "ssh-rsa " + Base64.getEncoder().encodeToString(OpenSSHPublicKeyUtil.encodePublicKey(
                    PublicKeyFactory.createKey(pair.getPublic().getEncoded()))) + " Generated-by-Stratus";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new KeyMaterial(line, pem(pair.getPrivate()), parse(line).fingerprint());
    }

    /** PEM as OpenSSL writes it: an RSA private key as PKCS#1 ({@code RSA PRIVATE KEY}), a certificate as itself. */
    static String pem(Object o) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString().replace("\r\n", "\n"); // PemWriter ends lines as the platform does
    }

    private static void putString(ByteArrayOutputStream out, byte[] s) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(s.length).array());
        out.writeBytes(s);
    }

    static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String colonHex(byte[] bytes) {
        StringJoiner j = new StringJoiner(":");
        for (byte b : bytes) {
            j.add(HexFormat.of().toHexDigits(b));
        }
        return j.toString();
    }

    /** SSH wire fields (RFC 4251, 5): each read fails as invalid key data when the blob ends early. */
    private static final class Reader {
        private final ByteBuffer buf;

        Reader(byte[] data) {
            this.buf = ByteBuffer.wrap(data);
        }

        int remaining() {
            return buf.remaining();
        }

        long u32() {
            need(4);
            return Integer.toUnsignedLong(buf.getInt());
        }

        long u64() {
            need(8);
            return buf.getLong();
        }

        byte[] string() {
            long n = u32();
            if (n > buf.remaining()) {
                throw new InvalidKeypairException("the key data is truncated");
            }
            byte[] s = new byte[(int) n];
            buf.get(s);
            return s;
        }

        private void need(int n) {
            if (buf.remaining() < n) {
                throw new InvalidKeypairException("the key data is truncated");
            }
        }
    }
}
