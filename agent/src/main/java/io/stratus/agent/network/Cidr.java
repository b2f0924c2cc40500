package io.stratus.agent.network;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An address with a prefix length, parsed from the control plane's text without a name lookup.
 * {@link #toString()} gives the network form (host bits cleared), which nft needs in a set.
 */
record Cidr(InetAddress address, int prefix) {
    private static final Pattern V4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    /** {@code text} as an address ({@code 10.0.0.5}, {@code fd00::5}) or a CIDR; empty when it is neither. */
    static Optional<Cidr> parse(String text) {
        int slash = text.indexOf('/');
        Optional<InetAddress> address = address(slash < 0 ? text : text.substring(0, slash));
        if (address.isEmpty()) {
            return Optional.empty();
        }
        int bits = address.get() instanceof Inet4Address ? 32 : 128;
        int prefix = bits;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > bits) {
                return Optional.empty();
            }
            prefix = Integer.parseInt(p);
        }
        return Optional.of(new Cidr(network(address.get(), prefix), prefix));
    }

    /** A literal IPv4 or IPv6 address; never resolves a name. */
    static Optional<InetAddress> address(String text) {
        var m = V4.matcher(text);
        boolean v4 = m.matches();
        if (v4) {
            for (int i = 1; i <= 4; i++) {
                if (Integer.parseInt(m.group(i)) > 255) {
                    return Optional.empty();
                }
            }
        }
        if (!v4 && !V6.matcher(text).matches()) {
            return Optional.empty();
        }
        try {
            // Safe from lookups: only digits, dots, hex and colons reach here, which is a literal.
            return Optional.of(InetAddress.getByName(text));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    int version() {
        return address instanceof Inet4Address ? 4 : 6;
    }

    boolean isHost() {
        return prefix == (version() == 4 ? 32 : 128);
    }

    /** Whether {@code other} (an address or a smaller network) lies within this network. */
    boolean contains(Cidr other) {
        return other.version() == version() && other.prefix >= prefix
                && network(other.address, prefix).equals(address);
    }

    /** The mask in IPv4's dotted form (dnsmasq's dhcp-range wants it so). */
    String netmask() {
        long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
        return (mask >> 24) + "." + ((mask >> 16) & 255) + "." + ((mask >> 8) & 255) + "." + (mask & 255);
    }

    String addressText() {
        return address.getHostAddress();
    }

    @Override
    public String toString() {
        return isHost() ? addressText() : addressText() + "/" + prefix;
    }

    private static InetAddress network(InetAddress a, int prefix) {
        byte[] b = a.getAddress();
        for (int i = 0; i < b.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - 8 * i));
            b[i] &= (byte) (0xff << (8 - keep));
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of " + b.length + " bytes", e);
        }
    }
}
