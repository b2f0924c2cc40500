package io.stratus.kvm.vm;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A virtio-net device on a host TAP device.
 *
 * @param tap the TAP's name: opened if it exists (for example made by {@code ip tuntap add}),
 *            created otherwise (and gone when the guest ends)
 * @param mac the guest's MAC address, "52:54:00:12:34:56" style
 */
public record NetConfig(String tap, String mac) {
    private static final SecureRandom RANDOM = new SecureRandom();

    public NetConfig {
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(mac, "mac");
        if (!mac.matches("(?i)[0-9a-f]{2}(:[0-9a-f]{2}){5}")) {
            throw new VmConfigException("MAC address '" + mac + "' is not six hex bytes separated by ':'");
        }
        if ((macBytes(mac)[0] & 1) != 0) {
            throw new VmConfigException("MAC address " + mac + " is a multicast address");
        }
    }

    /** A TAP with a random, locally administered MAC address. */
    public static NetConfig of(String tap) {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        b[0] = (byte) ((b[0] & 0xfc) | 0x02);
        return new NetConfig(tap, HexFormat.ofDelimiter(":").formatHex(b));
    }

    /** The MAC address as six bytes. */
    public byte[] macBytes() {
        return macBytes(mac);
    }

    private static byte[] macBytes(String mac) {
        return HexFormat.ofDelimiter(":").parseHex(mac.toLowerCase(java.util.Locale.ROOT));
    }
}
