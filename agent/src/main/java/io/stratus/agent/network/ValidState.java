package io.stratus.agent.network;

import io.stratus.proto.v1.AllowedAddressPair;
import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RemoteEndpoint;
import io.stratus.proto.v1.SecurityGroupRule;
import io.stratus.proto.v1.SecurityGroupRules;
import io.stratus.proto.v1.SubnetConfig;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The part of a {@code HostNetworkState} that can be put into the kernel as it is. Its text ends up
 * in device names, nft rulesets and dnsmasq files, so every name, MAC and address is checked here,
 * once: a network, port or rule that is not well-formed is left out (and said so), not allowed to
 * break the ruleset of every other port. A port left out keeps its TAP passing nothing.
 */
final class ValidState {
    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,63}");
    private static final Pattern TAP = Pattern.compile("tap[A-Za-z0-9-]{1,12}");
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    private static final int MAX_VNI = (1 << 24) - 1;
    private static final String NO_MAC = "00:00:00:00:00:00";

    private ValidState() {
    }

    /** {@code state} without what is malformed; each thing left out is told to {@code problems}. */
    static HostNetworkState of(HostNetworkState state, Consumer<String> problems) {
        HostNetworkState.Builder b = state.toBuilder().clearNetworks().clearPorts().clearSecurityGroups()
                .clearRouters();
        Set<String> networkIds = new HashSet<>();
        Set<Integer> vnis = new HashSet<>();
        for (NetworkSegment n : state.getNetworksList()) {
            String problem = networkProblem(n);
            if (problem == null && !networkIds.add(n.getNetworkId())) {
                problem = "listed twice";
            }
            if (problem == null && n.getType() == NetworkSegment.Type.VXLAN && !vnis.add(n.getSegmentationId())) {
                problem = "VNI " + n.getSegmentationId() + " is another network's";
            }
            if (problem != null) {
                problems.accept("network " + n.getNetworkId() + " left out: " + problem);
                continue;
            }
            b.addNetworks(network(n, problems));
        }
        Set<String> taps = new HashSet<>();
        b.getNetworksList().stream().filter(NetworkSegment::hasDhcpPort).forEach(n -> taps.add(n.getDhcpPort().getTap()));
        for (PortBinding p : state.getPortsList()) {
            String problem = portProblem(p);
            if (problem == null && !taps.add(tapOf(p))) {
                problem = "its TAP " + tapOf(p) + " is another port's";
            }
            if (problem != null) {
                problems.accept("port " + p.getPortId() + " left out: " + problem);
                continue;
            }
            b.addPorts(port(p, problems));
        }
        for (SecurityGroupRules g : state.getSecurityGroupsList()) {
            if (!ID.matcher(g.getSecurityGroupId()).matches()) {
                problems.accept("security group '" + g.getSecurityGroupId() + "' left out: not an id");
                continue;
            }
            b.addSecurityGroups(group(g, problems));
        }
        b.addAllRouters(ValidRouters.of(state.getRoutersList(), b.getNetworksList(), problems));
        return b.build();
    }

    private static String networkProblem(NetworkSegment n) {
        if (!ID.matcher(n.getNetworkId()).matches()) {
            return "not a network id";
        }
        if (n.getMtu() != 0 && (n.getMtu() < 68 || n.getMtu() > 65535)) {
            return "MTU " + n.getMtu() + " is outside 68..65535";
        }
        return switch (n.getType()) {
            case VXLAN -> n.getSegmentationId() >= 1 && n.getSegmentationId() <= MAX_VNI ? null
                    : "VNI " + n.getSegmentationId() + " is outside 1.." + MAX_VNI;
            case FLAT -> n.getPhysicalNetwork().isEmpty() ? "a flat network without physical_network" : null;
            default -> "type " + n.getType() + " is neither VXLAN nor FLAT";
        };
    }

    private static NetworkSegment network(NetworkSegment n, Consumer<String> problems) {
        NetworkSegment.Builder b = n.toBuilder().clearSubnets().clearRemoteEndpoints().clearDhcpPort();
        for (SubnetConfig s : n.getSubnetsList()) {
            var cidr = Cidr.parse(s.getCidr());
            boolean gatewayOk = s.getGatewayIp().isEmpty() || Cidr.address(s.getGatewayIp()).isPresent();
            if (cidr.isEmpty() || cidr.get().version() != s.getIpVersion() || !gatewayOk) {
                problems.accept("subnet " + s.getSubnetId() + " of network " + n.getNetworkId()
                        + " left out: CIDR '" + s.getCidr() + "', version " + s.getIpVersion() + ", gateway '"
                        + s.getGatewayIp() + "' do not agree");
                continue;
            }
            SubnetConfig.Builder sb = s.toBuilder().setCidr(cidr.get().toString()).clearDnsNameservers().clearHostRoutes();
            s.getDnsNameserversList().stream().filter(d -> Cidr.address(d).isPresent()).forEach(sb::addDnsNameservers);
            s.getHostRoutesList().stream().filter(r -> Cidr.parse(r.getDestination()).isPresent()
                    && Cidr.address(r.getNexthop()).isPresent()).forEach(sb::addHostRoutes);
            b.addSubnets(sb);
        }
        for (RemoteEndpoint r : n.getRemoteEndpointsList()) {
            if (Cidr.address(r.getTunnelAddress()).isEmpty()) {
                problems.accept("remote host " + r.getHost() + " of network " + n.getNetworkId()
                        + " left out: tunnel address '" + r.getTunnelAddress() + "'");
                continue;
            }
            RemoteEndpoint.Builder rb = r.toBuilder().clearMacs();
            r.getMacsList().stream().map(m -> m.toLowerCase(Locale.ROOT)).filter(ValidState::isMac).forEach(rb::addMacs);
            b.addRemoteEndpoints(rb);
        }
        if (n.hasDhcpPort()) {
            String problem = portProblem(n.getDhcpPort());
            if (problem == null) {
                b.setDhcpPort(port(n.getDhcpPort(), problems));
            } else {
                problems.accept("DHCP port of network " + n.getNetworkId() + " left out: " + problem);
            }
        }
        return b.build();
    }

    private static String portProblem(PortBinding p) {
        if (!ID.matcher(p.getPortId()).matches()) {
            return "not a port id";
        }
        if (!ID.matcher(p.getNetworkId()).matches()) {
            return "network id '" + p.getNetworkId() + "'";
        }
        if (!isMac(p.getMac().toLowerCase(Locale.ROOT))) {
            return "MAC '" + p.getMac() + "' is not a unicast MAC";
        }
        if (!TAP.matcher(tapOf(p)).matches()) {
            return "TAP name '" + p.getTap() + "'";
        }
        return null;
    }

    private static PortBinding port(PortBinding p, Consumer<String> problems) {
        PortBinding.Builder b = p.toBuilder().setMac(p.getMac().toLowerCase(Locale.ROOT)).setTap(tapOf(p))
                .clearFixedIps().clearAllowedAddressPairs();
        for (FixedIp ip : p.getFixedIpsList()) {
            if (Cidr.address(ip.getIpAddress()).isPresent()) {
                b.addFixedIps(ip);
            } else {
                problems.accept("port " + p.getPortId() + ": fixed IP '" + ip.getIpAddress() + "' left out");
            }
        }
        for (AllowedAddressPair pair : p.getAllowedAddressPairsList()) {
            String mac = pair.getMacAddress().toLowerCase(Locale.ROOT);
            if (Cidr.parse(pair.getIpAddress()).isPresent() && (mac.isEmpty() || isMac(mac))) {
                b.addAllowedAddressPairs(pair.toBuilder().setMacAddress(mac));
            } else {
                problems.accept("port " + p.getPortId() + ": allowed address pair " + pair.getIpAddress() + " "
                        + pair.getMacAddress() + " left out");
            }
        }
        return b.build();
    }

    private static SecurityGroupRules group(SecurityGroupRules g, Consumer<String> problems) {
        SecurityGroupRules.Builder b = g.toBuilder().clearRules().clearMemberIps();
        g.getMemberIpsList().stream().filter(ip -> Cidr.parse(ip).isPresent()).forEach(b::addMemberIps);
        for (SecurityGroupRule r : g.getRulesList()) {
            String problem = ruleProblem(r);
            if (problem != null) {
                problems.accept("rule " + r.getRuleId() + " of security group " + g.getSecurityGroupId()
                        + " left out: " + problem);
                continue;
            }
            b.addRules(r);
        }
        return b.build();
    }

    private static String ruleProblem(SecurityGroupRule r) {
        if (r.getDirection() != SecurityGroupRule.Direction.INGRESS
                && r.getDirection() != SecurityGroupRule.Direction.EGRESS) {
            return "no direction";
        }
        if (r.getIpVersion() != 4 && r.getIpVersion() != 6) {
            return "IP version " + r.getIpVersion();
        }
        if (r.getProtocol() > 255 || r.getPortRangeMin() > 65535 || r.getPortRangeMax() > 65535
                || r.getPortRangeMax() != 0 && r.getPortRangeMax() < r.getPortRangeMin()) {
            return "protocol " + r.getProtocol() + ", ports " + r.getPortRangeMin() + "-" + r.getPortRangeMax();
        }
        if (!r.getRemoteIpPrefix().isEmpty()) {
            var prefix = Cidr.parse(r.getRemoteIpPrefix());
            if (prefix.isEmpty() || prefix.get().version() != r.getIpVersion()) {
                return "remote prefix '" + r.getRemoteIpPrefix() + "' for IPv" + r.getIpVersion();
            }
        }
        if (!r.getRemoteGroupId().isEmpty() && !ID.matcher(r.getRemoteGroupId()).matches()) {
            return "remote group '" + r.getRemoteGroupId() + "'";
        }
        return null;
    }

    /** The port's TAP: as the state names it, else Neutron's name for it. */
    static String tapOf(PortBinding p) {
        return p.getTap().isEmpty() ? DeviceNames.tap(p.getPortId()) : p.getTap();
    }

    static boolean isMac(String mac) {
        // A multicast MAC (low bit of the first octet) is never a port's source address.
        return MAC.matcher(mac).matches() && !mac.equals(NO_MAC) && (Integer.parseInt(mac.substring(0, 2), 16) & 1) == 0;
    }
}
