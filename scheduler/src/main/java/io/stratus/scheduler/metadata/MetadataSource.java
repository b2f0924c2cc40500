package io.stratus.scheduler.metadata;

import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.network.SecurityGroup;
import io.stratus.scheduler.network.SecurityGroupStore;
import io.stratus.scheduler.network.Subnet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads what the metadata layouts need of one instance from the control plane's stores: the
 * server, its metadata and flavor, its ports with their networks, subnets and DHCP servers, the
 * names of their security groups, and the password its guest posted.
 */
public final class MetadataSource {
    private final ServerStore servers;
    private final ServerMetadataStore metadata;
    private final FlavorStore flavors;
    private final NetworkService network;
    private final SecurityGroupStore groups;

    public MetadataSource(ServerStore servers, ServerMetadataStore metadata, FlavorStore flavors,
                          NetworkService network, SecurityGroupStore groups) {
        this.servers = servers;
        this.metadata = metadata;
        this.flavors = flavors;
        this.network = network;
        this.groups = groups;
    }

    /** The facts of instance {@code id}; empty when there is no such instance, or it is deleted. */
    public Optional<InstanceFacts> find(String id) {
        return servers.find(id).map(this::facts);
    }

    /** Keeps the password the instance's guest posts, once; false when it has one already. */
    public boolean setPassword(String id, String password) {
        return servers.setGuestPassword(id, password);
    }

    private InstanceFacts facts(Server s) {
        String flavorName = flavors.byId(s.flavorId()).map(Flavor::name).orElse(s.flavorId());
        List<Port> ports = network.portsOf(s.id());
        return new InstanceFacts(s, metadata.of(s.id()), flavorName, groupNames(ports), nics(ports),
                servers.guestPassword(s.id()));
    }

    private List<String> groupNames(List<Port> ports) {
        Set<String> names = new LinkedHashSet<>();
        for (Port p : ports) {
            for (String id : p.securityGroups()) {
                groups.find(id).map(SecurityGroup::name).ifPresent(names::add);
            }
        }
        return List.copyOf(names);
    }

    private List<NetworkData.Nic> nics(List<Port> ports) {
        Map<String, Optional<Network>> networks = new HashMap<>();
        Map<String, Map<String, String>> dhcp = new HashMap<>();
        List<NetworkData.Nic> out = new ArrayList<>();
        for (Port p : ports) {
            Optional<Network> net = networks.computeIfAbsent(p.networkId(), network::network);
            Map<String, String> dhcpServers = dhcp.computeIfAbsent(p.networkId(), network::dhcpServers);
            // The subnets of the port's addresses, in the order of its addresses, each with its addresses.
            Map<String, List<String>> bySubnet = new LinkedHashMap<>();
            for (Port.FixedIp ip : p.fixedIps()) {
                bySubnet.computeIfAbsent(ip.subnetId(), k -> new ArrayList<>()).add(ip.ipAddress());
            }
            List<NetworkData.NicSubnet> subnets = new ArrayList<>();
            bySubnet.forEach((subnetId, ips) -> network.subnet(subnetId).ifPresent(subnet ->
                    subnets.add(new NetworkData.NicSubnet(subnet, ips, dhcpServer(subnet, dhcpServers)))));
            out.add(new NetworkData.Nic(p.id(), p.macAddress(), p.tap(), p.vifType(), p.networkId(),
                    net.map(Network::mtu).orElse(0), subnets));
        }
        return out;
    }

    /**
     * The subnet's DHCP server as Nova's network info has it: a DHCP port's address there, else
     * its gateway when DHCP is on (Nova's fallback for a DHCP port not made yet).
     */
    private static Optional<String> dhcpServer(Subnet subnet, Map<String, String> dhcpServers) {
        String port = dhcpServers.get(subnet.id());
        if (port != null) {
            return Optional.of(port);
        }
        return subnet.enableDhcp() ? subnet.gateway().map(Object::toString) : Optional.empty();
    }
}
