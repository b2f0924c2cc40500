package io.stratus.it;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Calls to the scheduler's metadata API as an agent's metadata proxy makes them for a guest:
 * Neutron's headers, the instance id signed with the shared secret (hex HMAC-SHA256), computed
 * here independently of the scheduler's own code.
 */
final class MetadataProxy {
    private MetadataProxy() {
    }

    /** A client whose requests a proxy forwarded for {@code instanceId} of {@code tenantId}, signed with {@code secret}. */
    static Api forInstance(String url, String instanceId, String tenantId, String secret) throws Exception {
        return Api.anonymous(url).withHeader("X-Instance-ID", instanceId).withHeader("X-Tenant-ID", tenantId)
                .withHeader("X-Instance-ID-Signature", sign(secret, instanceId))
                .withHeader("X-Forwarded-For", "10.0.0.9");
    }

    static String sign(String secret, String instanceId) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(instanceId.getBytes(StandardCharsets.UTF_8)));
    }
}
