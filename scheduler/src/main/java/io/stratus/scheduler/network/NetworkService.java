package io.stratus.scheduler.network;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What compute asks of the network side for a server (Nova's network API over Neutron): its ports
 * at create, their binding when it is placed or moved, their release when it is deleted, and its
 * addresses for the server's views. Changes publish the affected hosts' network states.
 */
public final class NetworkService {
    /** One address of a server, as Nova's {@code addresses} lists it under the network's name. */
    public record ServerAddress(int version, String address, String macAddress, String portId) {
    }

    private final NetworkStore networks;
    private final SubnetStore subnets;
    private final PortStore ports;

    public NetworkService(NetworkStore networks, SubnetStore subnets, PortStore ports) {
        this.networks = networks;
        this.subnets = subnets;
        this.ports = ports;
    }

    /**
     * Makes or claims the server's ports, all or none: new ones are {@code compute:nova} ports of
     * the server in the project's default security group; existing ones must be the project's and
     * free, and keep their groups.
     *
     * @throws NetworkException NetworkNotFound, PortNotFound, PortInUse, IpAddressAlreadyAllocated,
     *                          NetworkAmbiguous (auto with several networks), NoNetworkFound (auto with none)...
     */
    public List<Port> allocateForServer(String projectId, String serverId, List<NetworkRequest> requests) {
        return allocateForServer(projectId, serverId, requests, Optional.empty());
    }

    /** {@link #allocateForServer(String, String, List)} with the new ports in {@code securityGroups} (ids). */
    public List<Port> allocateForServer(String projectId, String serverId, List<NetworkRequest> requests,
                                        Optional<List<String>> securityGroups) {
        List<PortStore.Spec> specs = new ArrayList<>();
        List<String> existing = new ArrayList<>();
        List<Object> order = new ArrayList<>();
        for (NetworkRequest r : requests) {
            if (r instanceof NetworkRequest.ExistingPort p) {
                existing.add(p.portId());
                order.add(p.portId());
            } else if (r instanceof NetworkRequest.OnNetwork n) {
                specs.add(spec(projectId, serverId, visible(projectId, n.networkId()), n.fixedIp(), securityGroups));
                order.add(specs.size() - 1);
            } else if (r instanceof NetworkRequest.Auto) {
                specs.add(spec(projectId, serverId, auto(projectId), Optional.empty(), securityGroups));
                order.add(specs.size() - 1);
            }
        }
        ports.claim(existing, projectId, serverId);
        List<Port> made;
        try {
            made = specs.isEmpty() ? List.of() : ports.create(specs);
        } catch (RuntimeException e) {
            ports.releaseDevice(serverId);
            throw e;
        }
        List<Port> out = new ArrayList<>();
        for (Object o : order) {
            out.add(o instanceof Integer i ? made.get(i) : ports.get((String) o));
        }
        return out;
    }

    private Network visible(String projectId, String networkId) {
        return networks.find(networkId).filter(n -> n.projectId().equals(projectId) || n.shared())
                .orElseThrow(() -> NetworkException.notFound("Network", networkId));
    }

    /** Nova's auto allocation: the one network the project owns or shares. */
    private Network auto(String projectId) {
        List<Network> usable = networks.list().stream().filter(n -> n.projectId().equals(projectId) || n.shared())
                .toList();
        if (usable.isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "NoNetworkFound", "No network is available to"
                    + " project " + projectId + "; create one or ask for none.");
        }
        if (usable.size() > 1) {
            throw NetworkException.conflict("NetworkAmbiguous", "Multiple possible networks found, use a Network ID"
                    + " to be more specific.");
        }
        return usable.get(0);
    }

    private PortStore.Spec spec(String projectId, String serverId, Network n, Optional<String> fixedIp,
                                Optional<List<String>> securityGroups) {
        Optional<List<PortStore.IpRequest>> ips = fixedIp.map(ip -> List.of(new PortStore.IpRequest(Optional.empty(),
                Optional.of(IpAddress.parse(ip).orElseThrow(() -> NetworkException.invalid("'" + ip
                        + "' is not a valid IP address"))))));
        return new PortStore.Spec(n.id(), projectId, "", "", Optional.empty(), true, serverId, Port.COMPUTE_OWNER, "",
                "normal", Optional.empty(), ips, securityGroups, List.of(), true);
    }

    /**
     * Binds the server's ports to {@code host} (empty: unbinds them), with the DHCP ports that
     * follow, and publishes every affected host's state.
     */
    public void bindServer(String serverId, String host) {
        ports.bindDevice(serverId, host);
    }

    /** Deletes the ports made for the server and frees those the user brought. */
    public void releaseServer(String serverId) {
        ports.releaseDevice(serverId);
    }

    public List<Port> portsOf(String serverId) {
        return ports.ofDevice(serverId);
    }

    public Optional<Network> network(String networkId) {
        return networks.find(networkId);
    }

    public Optional<Subnet> subnet(String subnetId) {
        return subnets.find(subnetId);
    }

    /**
     * The address of a DHCP server on each of the network's subnets that has one, by subnet id
     * (Nova reads a DHCP port's address into its network info as the subnet's dhcp_server).
     */
    public Map<String, String> dhcpServers(String networkId) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Port p : ports.dhcpPortsOf(networkId)) {
            for (Port.FixedIp ip : p.fixedIps()) {
                out.putIfAbsent(ip.subnetId(), ip.ipAddress());
            }
        }
        return out;
    }

    /** The MTU of a network, for a guest's NIC on it; 0 when the network is gone (the default). */
    public int mtu(String networkId) {
        return networks.find(networkId).map(Network::mtu).orElse(0);
    }

    /** The server's addresses by network name, in port order (Nova's {@code addresses}). */
    public Map<String, List<ServerAddress>> addresses(String serverId) {
        return addresses(portsOf(serverId));
    }

    /** The addresses of a server's {@code ports} (read already) by network name, in port order. */
    public Map<String, List<ServerAddress>> addresses(List<Port> ports) {
        Map<String, List<ServerAddress>> out = new LinkedHashMap<>();
        for (Port p : ports) {
            String name = networks.find(p.networkId()).map(Network::name).orElse(p.networkId());
            List<ServerAddress> list = out.computeIfAbsent(name, k -> new ArrayList<>());
            for (Port.FixedIp ip : p.fixedIps()) {
                int version = subnets.find(ip.subnetId()).map(Subnet::ipVersion).orElse(ip.ipAddress().contains(":")
                        ? 6 : 4);
                list.add(new ServerAddress(version, ip.ipAddress(), p.macAddress(), p.id()));
            }
        }
        return out;
    }
}
