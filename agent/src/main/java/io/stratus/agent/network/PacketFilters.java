package io.stratus.agent.network;

import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.SecurityGroupRule;
import io.stratus.proto.v1.SecurityGroupRules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The host's packet filters as one nft script: it deletes and re-creates the agent's two tables in
 * one transaction, so there is never a moment without them.
 *
 * <p>Two tables, because this kernel has no conntrack in the bridge family (no
 * {@code nf_conntrack_bridge}): the {@code bridge} table sees every frame with its ports and does
 * the layer-2 work (a frame from a TAP no port owns is dropped; anti-spoofing of MACs, ARP and
 * source addresses; no DHCP server or router advertisement from a guest) and writes the ports it
 * came from and goes to into the packet mark (upper 16 bits: from, lower: to). Our bridges hand IP
 * packets to the IP hooks ({@code nf_call_iptables}), where the {@code inet} table does the
 * stateful security groups by those marks (nft has no physdev match), each network's bridge in a
 * conntrack zone of its own so that equal tenant addresses on one host do not meet.
 */
final class PacketFilters {
    static final String TABLE = "stratus";
    private static final Set<Integer> PORT_PROTOCOLS = Set.of(6, 17, 33, 132, 136);

    private PacketFilters() {
    }

    /** A script that leaves neither table (declaring each first, so the deletion cannot fail). */
    static String removal() {
        return "table bridge " + TABLE + " {}\ndelete table bridge " + TABLE + "\ntable inet " + TABLE
                + " {}\ndelete table inet " + TABLE + "\n";
    }

    /**
     * The script for {@code state} (checked by {@link ValidState}).
     *
     * @param zones each network's conntrack zone (1..65535), by network id
     */
    static String render(HostNetworkState state, Map<String, Integer> zones) {
        Map<String, Integer> groupIndex = new LinkedHashMap<>();
        state.getSecurityGroupsList().forEach(g -> groupIndex.putIfAbsent(g.getSecurityGroupId(), groupIndex.size() + 1));
        Map<String, SecurityGroupRules> groups = state.getSecurityGroupsList().stream()
                .collect(Collectors.toMap(SecurityGroupRules::getSecurityGroupId, g -> g, (a, b) -> a, LinkedHashMap::new));
        for (SecurityGroupRules g : state.getSecurityGroupsList()) {
            g.getRulesList().stream().map(SecurityGroupRule::getRemoteGroupId).filter(id -> !id.isEmpty())
                    .forEach(id -> groupIndex.putIfAbsent(id, groupIndex.size() + 1));
        }
        List<Port> ports = ports(state);
        StringBuilder s = new StringBuilder(removal());
        bridgeTable(s, ports);
        inetTable(s, state, ports, groups, groupIndex, zones);
        return s.toString();
    }

    /** A port on the bridges with its mark number; DHCP ports are ours and go unfiltered. */
    private record Port(int index, PortBinding binding, boolean dhcp) {
        boolean filtered() {
            return !dhcp && binding.getPortSecurityEnabled();
        }

        String tap() {
            return binding.getTap();
        }
    }

    private static List<Port> ports(HostNetworkState state) {
        List<Port> ports = new ArrayList<>();
        for (NetworkSegment n : state.getNetworksList()) {
            if (n.hasDhcpPort()) {
                ports.add(new Port(ports.size() + 1, n.getDhcpPort(), true));
            }
        }
        for (PortBinding p : state.getPortsList()) {
            ports.add(new Port(ports.size() + 1, p, false));
        }
        if (ports.size() > 0xffff) {
            throw new NetworkException(ports.size() + " ports on one host: the packet mark holds 65535");
        }
        return ports;
    }

    private static void bridgeTable(StringBuilder s, List<Port> ports) {
        s.append("table bridge ").append(TABLE).append(" {\n");
        for (Port p : ports) {
            if (p.filtered()) {
                Set<String> macs = new LinkedHashSet<>(List.of(p.binding().getMac()));
                p.binding().getAllowedAddressPairsList().stream().map(a -> a.getMacAddress())
                        .filter(m -> !m.isEmpty()).forEach(macs::add);
                set(s, "p" + p.index() + "_mac", "ether_addr", false, macs);
                set(s, "p" + p.index() + "_v4", "ipv4_addr", true, sources(p.binding(), 4));
                set(s, "p" + p.index() + "_v6", "ipv6_addr", true, sources(p.binding(), 6));
            }
        }
        for (Port p : ports) {
            fromChain(s, p);
            chain(s, "to_" + p.index(), p, List.of("meta mark set meta mark and 0xffff0000 or " + hex(p.index())),
                    p.binding().getAdminStateUp() ? List.of() : List.of("drop"));
        }
        s.append("  chain forward {\n    type filter hook forward priority -200; policy accept;\n")
                .append("    meta mark set 0\n");
        String known = ports.stream().map(p -> quote(p.tap())).collect(Collectors.joining(", "));
        for (String dir : List.of("iifname", "oifname")) {
            // A TAP no port of this state owns (just plugged; or its port is gone) passes nothing.
            s.append("    ").append(dir).append(" \"tap*\" ")
                    .append(ports.isEmpty() ? "" : dir + " != { " + known + " } ").append("drop\n");
        }
        if (!ports.isEmpty()) {
            s.append("    iifname vmap { ").append(ports.stream().map(p -> quote(p.tap()) + " : jump from_" + p.index())
                    .collect(Collectors.joining(", "))).append(" }\n");
            s.append("    oifname vmap { ").append(ports.stream().map(p -> quote(p.tap()) + " : jump to_" + p.index())
                    .collect(Collectors.joining(", "))).append(" }\n");
        }
        s.append("  }\n}\n");
    }

    private static void fromChain(StringBuilder s, Port p) {
        List<String> rules = new ArrayList<>();
        rules.add("meta mark set meta mark and 0x0000ffff or " + hex(p.index() << 16));
        if (!p.binding().getAdminStateUp()) {
            rules.add("drop");
        } else if (p.filtered()) {
            String n = "p" + p.index();
            rules.addAll(List.of(
                    "ether saddr != @" + n + "_mac drop",
                    "ether type arp arp saddr ether != @" + n + "_mac drop",
                    // 0.0.0.0: ARP probes (RFC 5227) before the guest uses an address.
                    "ether type arp arp saddr ip 0.0.0.0 return",
                    "ether type arp arp saddr ip @" + n + "_v4 return",
                    "ether type arp drop",
                    "ether type ip udp sport 67 drop",
                    "ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 return",
                    "ether type ip ip saddr @" + n + "_v4 return",
                    "ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop",
                    "ether type ip6 udp sport 547 drop",
                    // The unspecified address: duplicate address detection; link-local: ND, DHCPv6.
                    "ether type ip6 ip6 saddr { ::, fe80::/10 } return",
                    "ether type ip6 ip6 saddr @" + n + "_v6 return",
                    "drop"));
        }
        chain(s, "from_" + p.index(), p, rules, List.of());
    }

    private static void inetTable(StringBuilder s, HostNetworkState state, List<Port> ports,
                                  Map<String, SecurityGroupRules> groups, Map<String, Integer> groupIndex,
                                  Map<String, Integer> zones) {
        s.append("table inet ").append(TABLE).append(" {\n");
        groupIndex.forEach((id, i) -> {
            List<String> members = groups.containsKey(id) ? groups.get(id).getMemberIpsList() : List.of();
            for (int v : List.of(4, 6)) {
                set(s, "sg" + i + "_v" + v, v == 4 ? "ipv4_addr" : "ipv6_addr", true, members.stream()
                        .map(m -> Cidr.parse(m).orElseThrow()).filter(c -> c.version() == v).map(Cidr::toString)
                        .collect(Collectors.toCollection(LinkedHashSet::new)));
            }
        });
        s.append("  chain zones {\n    type filter hook prerouting priority raw; policy accept;\n");
        List<String> zoneEntries = state.getNetworksList().stream().filter(n -> zones.containsKey(n.getNetworkId()))
                .map(n -> quote(DeviceNames.bridge(n.getNetworkId())) + " : " + zones.get(n.getNetworkId())).toList();
        if (!zoneEntries.isEmpty()) {
            s.append("    ct zone set iifname map { ").append(String.join(", ", zoneEntries)).append(" }\n");
        }
        s.append("  }\n");
        Map<String, Integer> dhcpByNetwork = new LinkedHashMap<>();
        ports.stream().filter(Port::dhcp).forEach(p -> dhcpByNetwork.put(p.binding().getNetworkId(), p.index()));
        List<Port> filtered = ports.stream().filter(p -> p.filtered() && p.binding().getAdminStateUp()).toList();
        for (Port p : filtered) {
            List<SecurityGroupRule> rules = p.binding().getSecurityGroupIdsList().stream().distinct()
                    .filter(groups::containsKey).flatMap(g -> groups.get(g).getRulesList().stream()).toList();
            List<String> egress = new ArrayList<>(List.of(
                    "udp sport 68 udp dport 67 return",
                    "udp sport 546 udp dport 547 return",
                    "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report,"
                            + " mld2-listener-report } return"));
            List<String> ingress = new ArrayList<>();
            Integer dhcp = dhcpByNetwork.get(p.binding().getNetworkId());
            if (dhcp != null) {
                String from = "meta mark and 0xffff0000 == " + hex(dhcp << 16);
                ingress.add(from + " udp sport 67 udp dport 68 accept");
                ingress.add(from + " udp sport 547 udp dport 546 accept");
            }
            ingress.add("icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query }"
                    + " accept");
            for (SecurityGroupRule r : rules) {
                boolean in = r.getDirection() == SecurityGroupRule.Direction.INGRESS;
                (in ? ingress : egress).add(match(r, groupIndex) + (in ? " accept" : " return"));
            }
            chain(s, "egress_" + p.index(), p, egress, List.of("drop"));
            chain(s, "ingress_" + p.index(), p, ingress, List.of("drop"));
        }
        s.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n")
                .append("    iifname != \"brq*\" accept\n")
                .append("    ct state established,related accept\n");
        if (!filtered.isEmpty()) {
            s.append("    meta mark and 0xffff0000 vmap { ").append(filtered.stream()
                    .map(p -> hex(p.index() << 16) + " : jump egress_" + p.index())
                    .collect(Collectors.joining(", "))).append(" }\n");
            s.append("    meta mark and 0x0000ffff vmap { ").append(filtered.stream()
                    .map(p -> hex(p.index()) + " : jump ingress_" + p.index())
                    .collect(Collectors.joining(", "))).append(" }\n");
        }
        s.append("  }\n}\n");
    }

    /** The match of one security-group rule; its peer is the source on ingress, the destination on egress. */
    static String match(SecurityGroupRule r, Map<String, Integer> groupIndex) {
        int v = r.getIpVersion();
        String ip = v == 4 ? "ip" : "ip6";
        String peer = r.getDirection() == SecurityGroupRule.Direction.INGRESS ? " saddr " : " daddr ";
        StringBuilder m = new StringBuilder("meta nfproto ipv").append(v);
        if (!r.getRemoteIpPrefix().isEmpty()) {
            m.append(' ').append(ip).append(peer).append(Cidr.parse(r.getRemoteIpPrefix()).orElseThrow());
        } else if (!r.getRemoteGroupId().isEmpty()) {
            m.append(' ').append(ip).append(peer).append("@sg").append(groupIndex.get(r.getRemoteGroupId()))
                    .append("_v").append(v);
        }
        if (!r.getHasProtocol()) {
            return m.toString();
        }
        int protocol = r.getProtocol();
        if (protocol == 1 || protocol == 58) {
            // Neutron's "icmp" means ICMPv6 in an IPv6 rule.
            String icmp = v == 4 ? "icmp" : "icmpv6";
            m.append(" meta l4proto ").append(v == 4 ? "icmp" : "ipv6-icmp");
            if (r.getHasIcmpType()) {
                m.append(' ').append(icmp).append(" type ").append(r.getPortRangeMin());
            }
            if (r.getHasIcmpCode()) {
                m.append(' ').append(icmp).append(" code ").append(r.getPortRangeMax());
            }
            return m.toString();
        }
        m.append(" meta l4proto ").append(protocol);
        int min = r.getPortRangeMin();
        int max = r.getPortRangeMax() == 0 ? min : r.getPortRangeMax();
        if (PORT_PROTOCOLS.contains(protocol) && min > 0) {
            m.append(" th dport ").append(min == max ? String.valueOf(min) : min + "-" + max);
        }
        return m.toString();
    }

    /** The addresses a port may send from in one IP version: its fixed IPs and allowed address pairs. */
    private static Set<String> sources(PortBinding p, int version) {
        Set<String> out = new LinkedHashSet<>();
        p.getFixedIpsList().forEach(f -> Cidr.parse(f.getIpAddress()).filter(c -> c.version() == version)
                .ifPresent(c -> out.add(c.toString())));
        p.getAllowedAddressPairsList().forEach(a -> Cidr.parse(a.getIpAddress()).filter(c -> c.version() == version)
                .ifPresent(c -> out.add(c.toString())));
        return out;
    }

    private static void set(StringBuilder s, String name, String type, boolean intervals, Set<String> elements) {
        s.append("  set ").append(name).append(" {\n    type ").append(type).append('\n');
        if (intervals) {
            // auto-merge: an allowed address pair may overlap a fixed IP, which nft refuses otherwise.
            s.append("    flags interval\n    auto-merge\n");
        }
        if (!elements.isEmpty()) {
            s.append("    elements = { ").append(String.join(", ", elements)).append(" }\n");
        }
        s.append("  }\n");
    }

    private static void chain(StringBuilder s, String name, Port p, List<String> rules, List<String> last) {
        s.append("  chain ").append(name).append(" {\n    # ").append(p.dhcp() ? "DHCP port " : "port ")
                .append(p.binding().getPortId()).append('\n');
        for (String r : rules) {
            s.append("    ").append(r).append('\n');
        }
        for (String r : last) {
            s.append("    ").append(r).append('\n');
        }
        s.append("  }\n");
    }

    private static String quote(String name) {
        return "\"" + name + "\"";
    }

    private static String hex(int value) {
        return String.format("0x%08x", value);
    }
}
