package io.stratus.scheduler.api.compute;

import io.stratus.scheduler.network.IpAddress;
import java.util.Optional;

/**
 * IPv6 addresses in RFC 5952's text form (lower case, no leading zeros, the longest run of two or
 * more zero groups as {@code ::}), which is how Nova stores and answers access addresses; Java's
 * own {@code getHostAddress} writes every group. The network model's {@link IpAddress} writes it.
 */
final class Ipv6Text {
    private Ipv6Text() {
    }

    /** The canonical text of an IPv6 literal, or empty when {@code text} is not one. */
    static Optional<String> canonical(String text) {
        return IpAddress.parse(text).filter(a -> a.version() == 6).map(IpAddress::toString);
    }
}
