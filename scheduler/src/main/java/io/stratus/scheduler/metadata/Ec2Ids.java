package io.stratus.scheduler.metadata;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * EC2's identifiers ({@code i-0000abcd}, {@code ami-...}, {@code aki-...}, {@code ari-...}) for
 * Stratus' UUIDs. Nova numbers them from its database ({@code "i-%08x" % id}); Stratus has no
 * such numbers, so they are the first eight hex digits of the UUID: the same shape, stable, and
 * distinct as long as the UUIDs' beginnings are. An id that does not start with eight hex digits
 * takes them from its SHA-256.
 */
final class Ec2Ids {
    private static final Pattern HEX8 = Pattern.compile("[0-9a-f]{8}.*");

    private Ec2Ids() {
    }

    static String instance(String id) {
        return "i-" + hex8(id);
    }

    static String image(String id) {
        return "ami-" + hex8(id);
    }

    static String kernel(String id) {
        return "aki-" + hex8(id);
    }

    static String ramdisk(String id) {
        return "ari-" + hex8(id);
    }

    private static String hex8(String id) {
        String lower = id.toLowerCase(java.util.Locale.ROOT);
        if (HEX8.matcher(lower).matches()) {
            return lower.substring(0, 8);
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
