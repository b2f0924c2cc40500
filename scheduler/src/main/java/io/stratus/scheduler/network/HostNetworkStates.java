package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import io.stratus.proto.v1.AllowedAddressPair;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.RemoteEndpoint;
import io.stratus.proto.v1.RouterConfig;
import io.stratus.proto.v1.SecurityGroupRules;
import io.stratus.proto.v1.SubnetConfig;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.sql.DataSource;

/**
 * Builds a host's {@link HostNetworkState} from the database, in one snapshot with its generation:
 * the networks it has ports on (with their subnets, its DHCP port and the other hosts' tunnel
 * endpoints and MACs), its bound ports, the security groups those ports use or name, and the
 * routers it runs. A router's legs are bound to its host like ports, so their networks and MACs
 * travel as any port's do, but they are sent in their {@link RouterConfig}, not as guests' ports.
 */
public final class HostNetworkStates {
    private final DataSource db;
    private final Clock clock;

    public HostNetworkStates(DataSource db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    public HostNetworkState build(String host) {
        return Transaction.snapshot(db, tx -> build(tx, host));
    }

    private HostNetworkState build(Sql tx, String host) {
        HostNetworkState.Builder state = HostNetworkState.newBuilder().setHost(host)
                .setGeneration(HostNetworks.generation(tx, host))
                .setIssuedAt(ProtoTime.timestamp(clock.instant()));
        List<Port> here = PortStore.load(tx, " WHERE p.host_id = ?", host);
        Set<String> groups = new TreeSet<>();
        for (String networkId : new TreeSet<>(here.stream().map(Port::networkId).toList())) {
            NetworkStore.find(tx, networkId).ifPresent(n -> state.addNetworks(segment(tx, n, host, here)));
        }
        for (Port p : here) {
            if (!p.deviceOwner().equals(Port.DHCP_OWNER) && !Router.isLeg(p)) {
                state.addPorts(binding(p));
                groups.addAll(p.securityGroups());
            }
        }
        Set<String> named = new LinkedHashSet<>(groups);
        for (String g : groups) {
            named.addAll(tx.list("SELECT DISTINCT remote_group_id FROM security_group_rule WHERE security_group_id = ?"
                    + " AND remote_group_id IS NOT NULL", r -> r.getString(1), g));
        }
        for (String g : named) {
            state.addSecurityGroups(groupRules(tx, g));
        }
        for (Router r : RouterStore.on(tx, host)) {
            state.addRouters(router(tx, r));
        }
        return state.build();
    }

    private static RouterConfig router(Sql tx, Router r) {
        RouterConfig.Builder c = RouterConfig.newBuilder().setRouterId(r.id()).setAdminStateUp(r.adminStateUp())
                .setEnableSnat(r.enableSnat());
        r.gatewayPort().ifPresent(p -> c.setGatewayPort(binding(p)));
        RouterStore.interfaces(tx, r.id()).forEach(p -> c.addInterfaces(binding(p)));
        r.routes().forEach(route -> c.addRoutes(io.stratus.proto.v1.HostRoute.newBuilder()
                .setDestination(route.destination()).setNexthop(route.nexthop())));
        for (FloatingIp f : FloatingIpStore.of(tx, r.id())) {
            c.addFloatingIps(FloatingIpMapping.newBuilder().setFloatingIpId(f.id())
                    .setFloatingIpAddress(f.floatingIpAddress()).setFixedIpAddress(f.fixedIpAddress().orElseThrow())
                    .setPortId(f.portId().orElseThrow()));
        }
        return c.build();
    }

    private static NetworkSegment segment(Sql tx, Network n, String host, List<Port> here) {
        NetworkSegment.Builder s = NetworkSegment.newBuilder().setNetworkId(n.id())
                .setType(n.type() == NetworkType.FLAT ? NetworkSegment.Type.FLAT : NetworkSegment.Type.VXLAN)
                .setSegmentationId(n.segmentationId().orElse(0)).setPhysicalNetwork(n.physicalNetwork().orElse(""))
                .setMtu(n.mtu());
        for (Subnet sub : SubnetStore.of(tx, n.id())) {
            SubnetConfig.Builder c = SubnetConfig.newBuilder().setSubnetId(sub.id()).setIpVersion(sub.ipVersion())
                    .setCidr(sub.cidr().toString()).setGatewayIp(sub.gateway().map(IpAddress::toString).orElse(""))
                    .setEnableDhcp(sub.enableDhcp()).addAllDnsNameservers(sub.dnsNameservers())
                    .setIpv6AddressMode(sub.ipv6AddressMode().orElse(""));
            sub.hostRoutes().forEach(r -> c.addHostRoutes(io.stratus.proto.v1.HostRoute.newBuilder()
                    .setDestination(r.destination()).setNexthop(r.nexthop())));
            s.addSubnets(c);
        }
        here.stream().filter(p -> p.networkId().equals(n.id()) && p.deviceOwner().equals(Port.DHCP_OWNER))
                .findFirst().ifPresent(p -> s.setDhcpPort(binding(p)));
        Map<String, List<String>> macsByHost = new TreeMap<>();
        for (Port p : PortStore.load(tx, " WHERE p.network_id = ? AND p.host_id <> '' AND p.host_id <> ?", n.id(),
                host)) {
            macsByHost.computeIfAbsent(p.hostId(), k -> new ArrayList<>()).add(p.macAddress());
        }
        macsByHost.forEach((remote, macs) -> s.addRemoteEndpoints(RemoteEndpoint.newBuilder().setHost(remote)
                .setTunnelAddress(HostNetworks.tunnelAddress(tx, remote).orElse("")).addAllMacs(macs)));
        return s.build();
    }

    private static PortBinding binding(Port p) {
        PortBinding.Builder b = PortBinding.newBuilder().setPortId(p.id()).setNetworkId(p.networkId())
                .setMac(p.macAddress()).setDeviceId(p.deviceId()).setDeviceOwner(p.deviceOwner()).setTap(p.tap())
                .setProjectId(p.projectId())
                .setAdminStateUp(p.adminStateUp()).setPortSecurityEnabled(p.portSecurityEnabled())
                .addAllSecurityGroupIds(p.securityGroups());
        p.fixedIps().forEach(f -> b.addFixedIps(io.stratus.proto.v1.FixedIp.newBuilder().setSubnetId(f.subnetId())
                .setIpAddress(f.ipAddress())));
        p.allowedAddressPairs().forEach(a -> b.addAllowedAddressPairs(AllowedAddressPair.newBuilder()
                .setIpAddress(a.ipAddress()).setMacAddress(a.macAddress())));
        return b.build();
    }

    private static SecurityGroupRules groupRules(Sql tx, String groupId) {
        SecurityGroupRules.Builder g = SecurityGroupRules.newBuilder().setSecurityGroupId(groupId);
        g.addAllMemberIps(tx.list("SELECT a.ip_address FROM ip_allocation a JOIN port_security_group m ON"
                + " m.port_id = a.port_id WHERE m.security_group_id = ? ORDER BY a.ip_address", r -> r.getString(1),
                groupId));
        tx.list("SELECT id, direction, ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix,"
                + " remote_group_id FROM security_group_rule WHERE security_group_id = ? ORDER BY id", r -> {
                    io.stratus.proto.v1.SecurityGroupRule.Builder rule = io.stratus.proto.v1.SecurityGroupRule
                            .newBuilder().setRuleId(r.getString("id"))
                            .setDirection(r.getString("direction").equals("INGRESS")
                                    ? io.stratus.proto.v1.SecurityGroupRule.Direction.INGRESS
                                    : io.stratus.proto.v1.SecurityGroupRule.Direction.EGRESS)
                            .setIpVersion(r.getString("ethertype").equals("IPv6") ? 6 : 4)
                            .setRemoteIpPrefix(Columns.optional(r, "remote_ip_prefix").orElse(""))
                            .setRemoteGroupId(Columns.optional(r, "remote_group_id").orElse(""));
                    Columns.optional(r, "protocol").flatMap(IpProtocols::number).ifPresent(n -> rule.setHasProtocol(true)
                            .setProtocol(n));
                    boolean icmp = rule.getHasProtocol() && IpProtocols.isIcmp(rule.getProtocol());
                    Columns.optionalInt(r, "port_range_min").ifPresent(v -> rule.setPortRangeMin(v)
                            .setHasIcmpType(icmp));
                    Columns.optionalInt(r, "port_range_max").ifPresent(v -> rule.setPortRangeMax(v)
                            .setHasIcmpCode(icmp));
                    return g.addRules(rule);
                }, groupId);
        return g.build();
    }
}
