package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkRequest;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.network.SecurityGroup;
import io.stratus.scheduler.network.SecurityGroupStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A server's ports as the Compute API sees them (Nova's network API over Neutron): the NICs a
 * create asks for turned into ports, and the {@code addresses}, {@code security_groups} and
 * interfaces that views show. The network model's refusals become Nova's status codes here.
 */
final class ServerPorts {
    /** Nova answers these with 409; its other network refusals at create are 400. */
    private static final Set<String> CONFLICTS = Set.of("PortInUse", "NetworkAmbiguous");

    private final NetworkService network;
    private final NetworkStore networks;
    private final SecurityGroupStore groups;

    ServerPorts(NetworkService network, NetworkStore networks, SecurityGroupStore groups) {
        this.network = network;
        this.networks = networks;
        this.groups = groups;
    }

    /**
     * What a create's {@code networks} asks of the network side for {@code count} servers: a port
     * or a fixed IP names one server's NIC, so they refuse a count above one, as Nova does.
     */
    List<NetworkRequest> requests(Caller caller, RequestedNetworks asked, long count) {
        List<NetworkRequest> out = new ArrayList<>();
        switch (asked.choice()) {
            case NONE -> {
                return List.of();
            }
            case AUTO -> {
                // Nova's auto: the one network the project can use; none available boots without a NIC.
                boolean any = networks.list().stream().anyMatch(n -> n.projectId().equals(caller.projectId())
                        || n.shared());
                return any ? List.of(new NetworkRequest.Auto()) : List.of();
            }
            case LISTED -> {
                for (RequestedNetworks.Nic nic : asked.nics()) {
                    if (count > 1 && (nic.portId().isPresent() || nic.fixedIp().isPresent())) {
                        throw ApiException.badRequest("Unable to launch multiple instances with a single configured"
                                + " port ID or fixed IP. Please launch your instance one by one with different"
                                + " ports or addresses.");
                    }
                    out.add(nic.portId().<NetworkRequest>map(NetworkRequest.ExistingPort::new)
                            .orElseGet(() -> new NetworkRequest.OnNetwork(nic.networkId().orElseThrow(),
                                    nic.fixedIp())));
                }
                return out;
            }
            default -> throw new IllegalStateException(asked.choice().name());
        }
    }

    /**
     * The security groups a create names ({@code [{"name": ...}]}, a name or an id of the project's),
     * for the ports it makes; empty when it names none (the project's default group).
     */
    Optional<List<String>> securityGroups(Caller caller, JsonNode asked) {
        if (asked == null || asked.isNull() || (asked.isArray() && asked.isEmpty())) {
            return Optional.empty();
        }
        if (!asked.isArray()) {
            throw ApiException.badRequest("Invalid input for field/attribute security_groups: it is a list");
        }
        Set<String> ids = new LinkedHashSet<>();
        for (JsonNode g : asked) {
            String name = g.path("name").asText("");
            if (name.isEmpty()) {
                throw ApiException.badRequest("Invalid input for field/attribute security_groups: each names a group");
            }
            if (name.equals("default")) {
                ids.add(groups.ensureDefault(caller.projectId()).id());
                continue;
            }
            List<SecurityGroup> found = groups.list().stream().filter(s -> s.projectId().equals(caller.projectId())
                    && (s.name().equals(name) || s.id().equals(name))).toList();
            if (found.isEmpty()) {
                throw ApiException.badRequest("Security group " + name + " not found for project "
                        + caller.projectId() + ".");
            }
            if (found.size() > 1) {
                throw ApiException.conflict("Multiple security groups are named " + name + "; use the id");
            }
            ids.add(found.get(0).id());
        }
        return Optional.of(List.copyOf(ids));
    }

    /** Makes or claims the server's ports, all or none. */
    void allocate(Caller caller, String serverId, List<NetworkRequest> requests, Optional<List<String>> securityGroups) {
        if (requests.isEmpty()) {
            return;
        }
        try {
            network.allocateForServer(caller.projectId(), serverId, requests, securityGroups);
        } catch (NetworkException e) {
            throw new ApiException(CONFLICTS.contains(e.type()) ? 409 : 400, e.getMessage());
        }
    }

    /** What the server's view shows of its ports, read once. */
    Views.Networking view(String serverId) {
        List<Port> ports = network.portsOf(serverId);
        return new Views.Networking(addresses(ports), securityGroupNames(ports));
    }

    /** Nova's {@code addresses}: by network name, each fixed IP with its version and the port's MAC. */
    private Map<String, List<Map<String, Object>>> addresses(List<Port> ports) {
        Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
        network.addresses(ports).forEach((name, list) -> out.put(name, list.stream().map(a -> Map.<String, Object>of(
                "version", a.version(), "addr", a.address(), "OS-EXT-IPS:type", "fixed",
                "OS-EXT-IPS-MAC:mac_addr", a.macAddress())).toList()));
        return out;
    }

    /** The names of the groups the server's ports are in, each once; {@code default} for a server without ports. */
    List<Map<String, String>> securityGroupNames(String serverId) {
        return securityGroupNames(network.portsOf(serverId));
    }

    private List<Map<String, String>> securityGroupNames(List<Port> ports) {
        Set<String> names = new LinkedHashSet<>();
        for (Port p : ports) {
            for (String id : p.securityGroups()) {
                groups.find(id).ifPresent(g -> names.add(g.name()));
            }
        }
        if (names.isEmpty()) {
            names.add("default");
        }
        return names.stream().map(n -> Map.of("name", n)).toList();
    }

    /** The server's fixed addresses, for the listing's ip and ip6 filters. */
    List<String> fixedIps(String serverId) {
        List<String> out = new ArrayList<>();
        for (Port p : network.portsOf(serverId)) {
            p.fixedIps().forEach(ip -> out.add(ip.ipAddress()));
        }
        return out;
    }

    /** One entry of Nova's {@code interfaceAttachments}: a port of the server. */
    static Map<String, Object> attachment(Port p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("port_state", p.bound() ? "ACTIVE" : "DOWN");
        m.put("fixed_ips", p.fixedIps().stream().map(ip -> Map.of("subnet_id", ip.subnetId(), "ip_address",
                ip.ipAddress())).toList());
        m.put("port_id", p.id());
        m.put("net_id", p.networkId());
        m.put("mac_addr", p.macAddress());
        return m;
    }
}
