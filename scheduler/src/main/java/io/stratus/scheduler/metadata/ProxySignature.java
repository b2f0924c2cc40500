package io.stratus.scheduler.metadata;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a metadata proxy vouches for the instance it forwards a guest's request for, as Neutron's
 * proxy signs for Nova ({@code nova/api/metadata/handler.py _validate_shared_secret}): the hex
 * HMAC-SHA256 of the instance id under the secret the proxy and this service share.
 */
public final class ProxySignature {
    private final byte[] secret;

    public ProxySignature(String sharedSecret) {
        if (sharedSecret.isEmpty()) {
            throw new IllegalArgumentException("a metadata proxy's shared secret is not empty");
        }
        this.secret = sharedSecret.getBytes(StandardCharsets.UTF_8);
    }

    /** The signature of {@code instanceId}: lower-case hex, as Python's {@code hexdigest}. */
    public String sign(String instanceId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(instanceId.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every Java runtime", e);
        }
    }

    /**
     * Whether {@code signature} is {@code instanceId}'s, compared in constant time (a guest must
     * not learn a valid signature byte by byte from how long a refusal takes).
     */
    public boolean verifies(String instanceId, String signature) {
        if (signature == null || signature.isEmpty()) {
            return false;
        }
        return MessageDigest.isEqual(sign(instanceId).getBytes(StandardCharsets.UTF_8),
                signature.getBytes(StandardCharsets.UTF_8));
    }
}
