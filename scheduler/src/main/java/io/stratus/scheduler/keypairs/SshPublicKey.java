package io.stratus.scheduler.keypairs;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenSSH public key line ({@code ssh-rsa AAAA... comment}), checked as Nova checks an imported
 * key (pyca/cryptography's {@code load_ssh_public_key}): RSA, DSA (1024 bits), ECDSA on NIST
 * P-256/384/521 and Ed25519, and OpenSSH certificates of those; the blob's own type must be the
 * line's, every field must be there and nothing may follow them. The fingerprint is Nova's: MD5
 * of the blob.
 */
public final class SshPublicKey {
    private static final Pattern LINE = Pattern.compile("\\A(\\S+)[ \\t]+(\\S+)");
    private static final String CERT_SUFFIX = "-cert-v01@openssh.com";
    private static final Map<String, String> CURVES = Map.of(
            "ecdsa-sha2-nistp256", "nistp256",
            "ecdsa-sha2-nistp384", "nistp384",
            "ecdsa-sha2-nistp521", "nistp521");
    private static final Map<String, String> JCA_CURVES = Map.of(
            "nistp256", "secp256r1",
            "nistp384", "secp384r1",
            "nistp521", "secp521r1");

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
        readPublic(keyType, r);
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
        return new SshPublicKey(outerType, blob);
    }

    private static void readPublic(String keyType, Reader r) {
        switch (keyType) {
            case "ssh-rsa": {
                BigInteger e = r.mpint();
                BigInteger n = r.mpint();
                if (n.compareTo(BigInteger.valueOf(3)) < 0) {
                    throw new InvalidKeypairException("the RSA modulus must be >= 3");
                }
                if (e.compareTo(BigInteger.valueOf(3)) < 0 || e.compareTo(n) >= 0) {
                    throw new InvalidKeypairException("the RSA exponent must be >= 3 and < the modulus");
                }
                if (!e.testBit(0)) {
                    throw new InvalidKeypairException("the RSA exponent must be odd");
                }
                return;
            }
            case "ssh-dss": {
                BigInteger p = r.mpint();
                BigInteger q = r.mpint();
                BigInteger g = r.mpint();
                r.mpint(); // y
                if (p.bitLength() != 1024) {
                    throw new InvalidKeypairException("SSH supports only 1024 bit DSA keys");
                }
                int qBits = q.bitLength();
                if (qBits != 160 && qBits != 224 && qBits != 256) {
                    throw new InvalidKeypairException("the DSA q must be 160, 224 or 256 bits long");
                }
                if (g.compareTo(BigInteger.ONE) <= 0 || g.compareTo(p) >= 0) {
                    throw new InvalidKeypairException("the DSA g must be > 1 and < p");
                }
                return;
            }
            case "ssh-ed25519": {
                if (r.string().length != 32) {
                    throw new InvalidKeypairException("an Ed25519 public key is 32 bytes long");
                }
                return;
            }
            default:
                readEcdsa(CURVES.get(keyType), r);
        }
    }

    /** The curve's name, then an uncompressed point that must lie on that curve. */
    private static void readEcdsa(String curve, Reader r) {
        String named = new String(r.string(), StandardCharsets.UTF_8);
        byte[] point = r.string();
        if (!named.equals(curve)) {
            throw new InvalidKeypairException("curve name mismatch: " + named + " in an ecdsa-sha2-" + curve + " key");
        }
        if (point.length == 0 || point[0] != 4) {
            throw new InvalidKeypairException("the ECDSA point must be uncompressed");
        }
        ECParameterSpec spec;
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec(JCA_CURVES.get(curve)));
            spec = params.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks the curve " + curve, e);
        }
        BigInteger p = ((ECFieldFp) spec.getCurve().getField()).getP();
        int size = (p.bitLength() + 7) / 8;
        if (point.length != 1 + 2 * size) {
            throw new InvalidKeypairException("the ECDSA point must be " + (1 + 2 * size) + " bytes long on " + curve);
        }
        BigInteger x = new BigInteger(1, java.util.Arrays.copyOfRange(point, 1, 1 + size));
        BigInteger y = new BigInteger(1, java.util.Arrays.copyOfRange(point, 1 + size, point.length));
        BigInteger a = spec.getCurve().getA();
        BigInteger b = spec.getCurve().getB();
        boolean onCurve = x.compareTo(p) < 0 && y.compareTo(p) < 0
                && y.pow(2).mod(p).equals(x.pow(3).add(a.multiply(x)).add(b).mod(p));
        if (!onCurve) {
            throw new InvalidKeypairException("the ECDSA point is not on the curve " + curve);
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
        RSAPublicKey pub = (RSAPublicKey) pair.getPublic();
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        putString(blob, "ssh-rsa".getBytes(StandardCharsets.US_ASCII));
        putString(blob, pub.getPublicExponent().toByteArray());
        putString(blob, pub.getModulus().toByteArray());
        String line = "ssh-rsa " + Base64.getEncoder().encodeToString(blob.toByteArray()) + " Generated-by-Stratus";
        RSAPrivateCrtKey k = (RSAPrivateCrtKey) pair.getPrivate();
        byte[] pkcs1 = Der.sequence(Der.integer(0), Der.integer(k.getModulus()), Der.integer(k.getPublicExponent()),
                Der.integer(k.getPrivateExponent()), Der.integer(k.getPrimeP()), Der.integer(k.getPrimeQ()),
                Der.integer(k.getPrimeExponentP()), Der.integer(k.getPrimeExponentQ()),
                Der.integer(k.getCrtCoefficient()));
        return new KeyMaterial(line, pem("RSA PRIVATE KEY", pkcs1), parse(line).fingerprint());
    }

    static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
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

        BigInteger mpint() {
            byte[] v = string();
            if (v.length > 0 && (v[0] & 0x80) != 0) {
                throw new InvalidKeypairException("the key holds a negative number");
            }
            return new BigInteger(1, v);
        }

        private void need(int n) {
            if (buf.remaining() < n) {
                throw new InvalidKeypairException("the key data is truncated");
            }
        }
    }
}
