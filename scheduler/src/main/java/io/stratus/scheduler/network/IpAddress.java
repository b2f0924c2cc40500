package io.stratus.scheduler.network;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An IPv4 or IPv6 address as a number, so that ranges and prefixes are arithmetic. Parsing is
 * strict: dotted quads of 0-255 or an IPv6 literal, never a host name or a shorthand such as
 * {@code 256} that the platform's resolver would take.
 */
public record IpAddress(int version, BigInteger value) implements Comparable<IpAddress> {
    private static final Pattern V4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]+");

    public static Optional<IpAddress> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        int version;
        if (V4.matcher(text).matches()) {
            version = 4;
        } else if (text.contains(":") && V6.matcher(text).matches()) {
            version = 6;
        } else {
            return Optional.empty();
        }
        try {
            // Safe from name lookups: the text is a literal of digits, dots and colons only.
            byte[] bytes = InetAddress.getByName(text).getAddress();
            if (bytes.length != (version == 4 ? 4 : 16)) {
                return Optional.empty();
            }
            return Optional.of(new IpAddress(version, new BigInteger(1, bytes)));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    public int bits() {
        return version == 4 ? 32 : 128;
    }

    public IpAddress plus(long n) {
        return new IpAddress(version, value.add(BigInteger.valueOf(n)));
    }

    @Override
    public int compareTo(IpAddress o) {
        return version != o.version ? Integer.compare(version, o.version) : value.compareTo(o.value);
    }

    /** The canonical text: dotted quad, or IPv6 compressed as Neutron (netaddr) writes it. */
    @Override
    public String toString() {
        byte[] raw = value.toByteArray();
        byte[] bytes = new byte[version == 4 ? 4 : 16];
        int copy = Math.min(raw.length, bytes.length);
        System.arraycopy(raw, raw.length - copy, bytes, bytes.length - copy, copy);
        if (version == 4) {
            return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + "." + (bytes[3] & 0xff);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(groups[i]));
        }
        return s.toString();
    }
}
