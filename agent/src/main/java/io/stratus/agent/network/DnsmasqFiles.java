package io.stratus.agent.network;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.HostRoute;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.SubnetConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What dnsmasq is given for one network, as Neutron's DHCP agent gives it: the configuration
 * (read at start: a change restarts dnsmasq), the static leases ({@code dhcp-hostsfile}) and the
 * options ({@code dhcp-optsfile}), both read again on SIGHUP. Only the ports bound to this host get
 * a lease here; the network's other hosts serve theirs, and dnsmasq ignores clients it does not know.
 */
record DnsmasqFiles(String config, String hosts, String options) {
    private static final String LEASE_TIME = "86400s";
    static final String CONFIG = "dnsmasq.conf";
    static final String HOSTS = "hosts";
    static final String OPTIONS = "opts";
    static final String PID = "pid";
    static final String LEASES = "leases";
    private static final String METADATA_ROUTE = MetadataProxies.ADDRESS + "/32";

    /** The subnets dnsmasq serves: DHCP enabled, and the DHCP port holds an address in them. */
    static List<SubnetConfig> served(NetworkSegment network) {
        return network.getSubnetsList().stream().filter(SubnetConfig::getEnableDhcp)
                .filter(s -> s.getIpVersion() == 4 || !s.getIpv6AddressMode().equals("slaac"))
                .filter(s -> addressIn(network.getDhcpPort(), s.getSubnetId()).isPresent()).toList();
    }

    /** {@code port}'s address in subnet {@code subnetId}. */
    static Optional<String> addressIn(PortBinding port, String subnetId) {
        return port.getFixedIpsList().stream().filter(f -> f.getSubnetId().equals(subnetId))
                .map(FixedIp::getIpAddress).findFirst();
    }

    /**
     * @param network  checked by {@link ValidState}, with a DHCP port
     * @param ports    the ports bound to this host on {@code network}
     * @param dir      where the files, the pid and the leases are kept
     * @param metadata whether the DHCP port holds the metadata proxy: each IPv4 subnet's leases
     *                 then route 169.254.169.254 to it
     */
    static DnsmasqFiles of(NetworkSegment network, List<PortBinding> ports, Path dir, boolean metadata) {
        List<SubnetConfig> subnets = served(network);
        Map<String, Integer> tags = new java.util.LinkedHashMap<>();
        subnets.forEach(s -> tags.put(s.getSubnetId(), tags.size()));
        StringBuilder c = new StringBuilder("# Written by the stratus agent for network ")
                .append(network.getNetworkId()).append("; the agent rewrites it.\n");
        for (String line : List.of("no-hosts", "no-resolv", "port=0", "bind-interfaces",
                "interface=" + DeviceNames.dhcpInside(network.getDhcpPort().getPortId()), "except-interface=lo",
                "dhcp-ignore=tag:!known", "pid-file=" + dir.resolve(PID), "dhcp-hostsfile=" + dir.resolve(HOSTS),
                "dhcp-optsfile=" + dir.resolve(OPTIONS), "dhcp-leasefile=" + dir.resolve(LEASES))) {
            c.append(line).append('\n');
        }
        StringBuilder o = new StringBuilder();
        for (SubnetConfig s : subnets) {
            String tag = "subnet" + tags.get(s.getSubnetId());
            Cidr cidr = Cidr.parse(s.getCidr()).orElseThrow();
            c.append("dhcp-range=set:").append(tag).append(',').append(cidr.addressText()).append(",static,")
                    .append(s.getIpVersion() == 4 ? cidr.netmask() : String.valueOf(cidr.prefix()))
                    .append(',').append(LEASE_TIME).append('\n');
            options(o, tag, s, network.getMtu(), metadata ? addressIn(network.getDhcpPort(), s.getSubnetId())
                    : Optional.empty());
        }
        StringBuilder h = new StringBuilder();
        for (PortBinding p : ports) {
            List<String> addresses = new ArrayList<>();
            for (FixedIp f : p.getFixedIpsList()) {
                subnets.stream().filter(s -> s.getSubnetId().equals(f.getSubnetId())).findFirst()
                        .ifPresent(s -> addresses.add(s.getIpVersion() == 6 ? "[" + f.getIpAddress() + "]"
                                : f.getIpAddress()));
            }
            if (!addresses.isEmpty()) {
                h.append(p.getMac()).append(',').append(String.join(",", addresses)).append('\n');
            }
        }
        return new DnsmasqFiles(c.toString(), h.toString(), o.toString());
    }

    /** @param metadataHop the DHCP port's address in {@code s} when it holds the metadata proxy */
    private static void options(StringBuilder o, String tag, SubnetConfig s, int mtu, Optional<String> metadataHop) {
        String prefix = "tag:" + tag + ",";
        if (s.getIpVersion() == 6) {
            if (!s.getDnsNameserversList().isEmpty()) {
                o.append(prefix).append("option6:dns-server,").append(s.getDnsNameserversList().stream()
                        .map(d -> "[" + d + "]").collect(Collectors.joining(","))).append('\n');
            }
            return;
        }
        // An empty router option tells dnsmasq to send none (a subnet without gateway).
        o.append(prefix).append("option:router").append(s.getGatewayIp().isEmpty() ? "" : "," + s.getGatewayIp())
                .append('\n');
        if (!s.getDnsNameserversList().isEmpty()) {
            o.append(prefix).append("option:dns-server,").append(String.join(",", s.getDnsNameserversList()))
                    .append('\n');
        }
        if (mtu > 0) {
            o.append(prefix).append("option:mtu,").append(mtu).append('\n');
        }
        List<HostRoute> routes = s.getHostRoutesList().stream()
                .filter(r -> Cidr.parse(r.getDestination()).orElseThrow().version() == 4).toList();
        List<String> r = new ArrayList<>();
        routes.forEach(h -> r.add(Cidr.parse(h.getDestination()).orElseThrow().addressText() + "/"
                + Cidr.parse(h.getDestination()).orElseThrow().prefix() + "," + h.getNexthop()));
        boolean hasMetadata = routes.stream().anyMatch(h -> Cidr.parse(h.getDestination()).orElseThrow()
                .equals(Cidr.parse(METADATA_ROUTE).orElseThrow()));
        if (!hasMetadata) {
            // Neutron's isolated metadata (force_metadata): the DHCP port answers 169.254.169.254.
            metadataHop.ifPresent(hop -> r.add(METADATA_ROUTE + "," + hop));
        }
        if (!r.isEmpty()) {
            // A client that gets classless routes ignores the router option (RFC 3442): the default
            // route goes in with them.
            boolean hasDefault = routes.stream().anyMatch(h -> Cidr.parse(h.getDestination()).orElseThrow().prefix() == 0);
            if (!hasDefault && !s.getGatewayIp().isEmpty()) {
                r.add("0.0.0.0/0," + s.getGatewayIp());
            }
            o.append(prefix).append("option:classless-static-route,").append(String.join(",", r)).append('\n');
        }
    }
}
