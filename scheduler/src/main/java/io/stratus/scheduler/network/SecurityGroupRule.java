package io.stratus.scheduler.network;

import java.util.Optional;

/**
 * One rule: traffic in a direction, of an ethertype and (optionally) protocol and port range or
 * ICMP type and code, from or to a prefix or the members of a group. {@code protocol} is kept as
 * the user wrote it (a name or a number), as Neutron shows it back.
 */
public record SecurityGroupRule(String id, String securityGroupId, String projectId, Direction direction,
                                String ethertype, Optional<String> protocol, Optional<Integer> portRangeMin,
                                Optional<Integer> portRangeMax, Optional<String> remoteIpPrefix,
                                Optional<String> remoteGroupId, String description, Revision revision) {
    public enum Direction { INGRESS, EGRESS }

    public int ipVersion() {
        return ethertype.equals("IPv6") ? 6 : 4;
    }

    /** What the rule matches, canonical: two rules that match the same traffic have the same one. */
    public String fingerprint() {
        return String.join("|", direction.name(), ethertype,
                protocol.flatMap(IpProtocols::number).map(String::valueOf).orElse(protocol.orElse("")),
                portRangeMin.map(String::valueOf).orElse(""), portRangeMax.map(String::valueOf).orElse(""),
                remoteIpPrefix.orElse(""), remoteGroupId.orElse(""));
    }
}
