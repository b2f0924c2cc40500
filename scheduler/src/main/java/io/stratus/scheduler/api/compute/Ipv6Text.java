package io.stratus.scheduler.api.compute;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * IPv6 addresses in RFC 5952's text form (lower case, no leading zeros, the longest run of two or
 * more zero groups as {@code ::}), which is how Nova stores and answers access addresses; Java's
 * own {@code getHostAddress} writes every group.
 */
final class Ipv6Text {
    private Ipv6Text() {
    }

    /** The canonical text of an IPv6 literal, or empty when {@code text} is not one. */
    static Optional<String> canonical(String text) {
        InetAddress a;
        try {
            // A literal only (the caller checked the characters): no name lookup happens.
            a = InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
        if (!(a instanceof Inet6Address)) {
            return Optional.empty();
        }
        byte[] b = a.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return Optional.of(out.toString());
    }
}
