package io.stratus.scheduler.network;

import java.util.Map;
import java.util.Optional;

/** The IP protocol names Neutron takes in a security group rule, and their numbers. */
public final class IpProtocols {
    /** Neutron's constants.IP_PROTOCOL_MAP. */
    private static final Map<String, Integer> NUMBERS = Map.ofEntries(Map.entry("ah", 51), Map.entry("dccp", 33),
            Map.entry("egp", 8), Map.entry("esp", 50), Map.entry("gre", 47), Map.entry("hopopt", 0),
            Map.entry("icmp", 1), Map.entry("igmp", 2), Map.entry("ip", 0), Map.entry("ipip", 4),
            Map.entry("ipv6-encap", 41), Map.entry("ipv6-frag", 44), Map.entry("ipv6-icmp", 58),
            Map.entry("icmpv6", 58), Map.entry("ipv6-nonxt", 59), Map.entry("ipv6-opts", 60),
            Map.entry("ipv6-route", 43), Map.entry("ospf", 89), Map.entry("pgm", 113), Map.entry("rsvp", 46),
            Map.entry("sctp", 132), Map.entry("tcp", 6), Map.entry("udp", 17), Map.entry("udplite", 136),
            Map.entry("vrrp", 112));

    private IpProtocols() {
    }

    /** The number of a protocol given by name or as a number 0-255; empty for anything else. */
    public static Optional<Integer> number(String protocol) {
        if (protocol.matches("[0-9]{1,3}")) {
            int n = Integer.parseInt(protocol);
            return n <= 255 ? Optional.of(n) : Optional.empty();
        }
        return Optional.ofNullable(NUMBERS.get(protocol.toLowerCase(java.util.Locale.ROOT)));
    }

    /** Whether rules of this protocol number take a port range (TCP, UDP, DCCP, SCTP, UDP-Lite). */
    public static boolean hasPorts(int number) {
        return number == 6 || number == 17 || number == 33 || number == 132 || number == 136;
    }

    public static boolean isIcmp(int number) {
        return number == 1 || number == 58;
    }
}
