package io.stratus.agent.network;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.HostRoute;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RouterConfig;
import io.stratus.proto.v1.SubnetConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The routers of a state that can be built as they are (part of {@link ValidState}). A router is
 * taken whole or refused whole, with the reason: half a router (a leg without its address, NAT
 * without its gateway) would forward wrongly, where a refused one is left as it was.
 */
final class ValidRouters {
    private ValidRouters() {
    }

    /**
     * @param networks the state's networks, already checked: a leg on any other network is refused
     */
    static List<RouterConfig> of(List<RouterConfig> routers, List<NetworkSegment> networks, Consumer<String> problems) {
        Map<String, NetworkSegment> byId = networks.stream()
                .collect(Collectors.toMap(NetworkSegment::getNetworkId, Function.identity()));
        Set<String> ids = new HashSet<>();
        List<RouterConfig> valid = new ArrayList<>();
        for (RouterConfig r : routers) {
            String problem = problem(r, byId);
            if (problem == null && !ids.add(r.getRouterId())) {
                problem = "listed twice";
            }
            if (problem != null) {
                problems.accept("router " + r.getRouterId() + " refused: " + problem);
                continue;
            }
            RouterConfig.Builder b = r.toBuilder().clearInterfaces();
            r.getInterfacesList().forEach(p -> b.addInterfaces(p.toBuilder().setMac(p.getMac().toLowerCase(Locale.ROOT))));
            if (r.hasGatewayPort()) {
                b.setGatewayPort(r.getGatewayPort().toBuilder().setMac(r.getGatewayPort().getMac().toLowerCase(Locale.ROOT)));
            }
            valid.add(b.build());
        }
        return valid;
    }

    private static String problem(RouterConfig r, Map<String, NetworkSegment> networks) {
        if (!ValidState.ID.matcher(r.getRouterId()).matches()) {
            return "not a router id";
        }
        Set<String> legs = new HashSet<>();
        List<Cidr> attached = new ArrayList<>();
        for (PortBinding p : r.getInterfacesList()) {
            String problem = legProblem(p, networks, legs, attached);
            if (problem != null) {
                return "interface " + p.getPortId() + ": " + problem;
            }
        }
        if (r.hasGatewayPort()) {
            String problem = legProblem(r.getGatewayPort(), networks, legs, new ArrayList<>());
            if (problem != null) {
                return "gateway " + r.getGatewayPort().getPortId() + ": " + problem;
            }
        }
        for (HostRoute route : r.getRoutesList()) {
            Optional<Cidr> destination = Cidr.parse(route.getDestination());
            Optional<Cidr> nexthop = Cidr.parse(route.getNexthop()).filter(Cidr::isHost);
            if (destination.isEmpty() || nexthop.isEmpty() || destination.get().version() != nexthop.get().version()) {
                return "route to '" + route.getDestination() + "' via '" + route.getNexthop() + "'";
            }
        }
        Set<String> floating = new HashSet<>();
        for (FloatingIpMapping f : r.getFloatingIpsList()) {
            Optional<Cidr> address = v4(f.getFloatingIpAddress());
            Optional<Cidr> fixed = v4(f.getFixedIpAddress());
            if (address.isEmpty() || fixed.isEmpty()) {
                return "floating IP " + f.getFloatingIpAddress() + " → " + f.getFixedIpAddress()
                        + ": both must be IPv4 addresses";
            }
            if (!r.hasGatewayPort()) {
                return "floating IP " + f.getFloatingIpAddress() + " without a gateway";
            }
            if (!floating.add(address.get().addressText())) {
                return "floating IP " + f.getFloatingIpAddress() + " listed twice";
            }
            if (attached.stream().noneMatch(c -> c.contains(fixed.get()))) {
                return "floating IP " + f.getFloatingIpAddress() + ": fixed address " + f.getFixedIpAddress()
                        + " is on none of the router's subnets";
            }
        }
        return null;
    }

    /** What is wrong with one leg; the subnets it is on are added to {@code attached}. */
    private static String legProblem(PortBinding p, Map<String, NetworkSegment> networks, Set<String> legs,
                                     List<Cidr> attached) {
        if (!ValidState.ID.matcher(p.getPortId()).matches()) {
            return "not a port id";
        }
        if (!legs.add(DeviceNames.routerLegInside("", p.getPortId()))) {
            return "its port id begins as another leg's (the device names would be the same)";
        }
        if (!ValidState.isMac(p.getMac().toLowerCase(Locale.ROOT))) {
            return "MAC '" + p.getMac() + "' is not a unicast MAC";
        }
        NetworkSegment n = networks.get(p.getNetworkId());
        if (n == null) {
            return "network '" + p.getNetworkId() + "' is not among this host's networks";
        }
        if (p.getFixedIpsCount() == 0) {
            return "no fixed IP";
        }
        for (FixedIp ip : p.getFixedIpsList()) {
            Optional<SubnetConfig> subnet = n.getSubnetsList().stream()
                    .filter(s -> s.getSubnetId().equals(ip.getSubnetId())).findFirst();
            if (subnet.isEmpty()) {
                return "subnet '" + ip.getSubnetId() + "' is not one of network " + n.getNetworkId();
            }
            Cidr cidr = Cidr.parse(subnet.get().getCidr()).orElseThrow();
            Optional<Cidr> address = Cidr.parse(ip.getIpAddress()).filter(Cidr::isHost);
            if (address.isEmpty() || !cidr.contains(address.get())) {
                return "address '" + ip.getIpAddress() + "' is not in its subnet " + cidr;
            }
            attached.add(cidr);
        }
        return null;
    }

    private static Optional<Cidr> v4(String text) {
        return Cidr.parse(text).filter(c -> c.isHost() && c.version() == 4);
    }
}
