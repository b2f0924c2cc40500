package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.FloatingIp;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.network.Port.AddressPair;
import io.stratus.scheduler.network.PortStore;
import io.stratus.scheduler.network.PortStore.IpRequest;
import io.stratus.scheduler.network.Router;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code /network/v2.0/ports}: a project's ports, on its own or shared networks. Binding a port to
 * a host ({@code binding:host_id}) is for admins (compute binds its servers' ports itself).
 */
@Path("/network/v2.0/ports")
@Produces(MediaType.APPLICATION_JSON)
public class PortsResource extends NeutronResource {
    private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");
    private static final Set<String> VNIC_TYPES = Set.of("normal", "direct", "macvtap", "baremetal",
            "direct-physical", "virtio-forwarder", "smart-nic", "remote-managed", "vdpa");

    @Inject
    NetworkStore networks;
    @Inject
    PortStore ports;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        boolean admin = caller().isAdmin();
        return listed("ports", ports.list().stream().filter(p -> owns(p.projectId()))
                .map(p -> NetworkViews.port(p, admin)).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("port", NetworkViews.port(owned(id), caller().isAdmin()));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<PortStore.Spec> specs = new ArrayList<>();
        for (JsonNode p : NeutronBody.creates(body, "port", "ports")) {
            NeutronBody.adminOnly(p, "binding:host_id", caller);
            String networkId = NeutronBody.string(p, "network_id", 64).orElseThrow(() ->
                    NeutronBody.invalid("network_id is required", "network_id"));
            Network network = networks.find(networkId).filter(this::seesSubnetsOf)
                    .orElseThrow(() -> NetworkException.notFound("Network", networkId));
            specs.add(new PortStore.Spec(network.id(), NeutronBody.project(p, caller), NeutronBody.string(p, "name",
                    255).orElse(""), NeutronBody.string(p, "description", 255).orElse(""), mac(p),
                    NeutronBody.bool(p, "admin_state_up").orElse(true), NeutronBody.string(p, "device_id", 255)
                    .orElse(""), NeutronBody.string(p, "device_owner", 255).orElse(""),
                    NeutronBody.string(p, "binding:host_id", 255).orElse(""), vnicType(p).orElse("normal"),
                    NeutronBody.bool(p, "port_security_enabled"), fixedIps(p),
                    NeutronBody.strings(p, "security_groups"), pairs(p).orElse(List.of()), false));
        }
        for (PortStore.Spec s : specs) {
            quotas.check(s.projectId(), "port", ports.count(s.projectId()), specs.stream()
                    .filter(o -> o.projectId().equals(s.projectId())).count());
        }
        boolean admin = caller.isAdmin();
        return created("port", "ports", ports.create(specs).stream().map(p -> NetworkViews.port(p, admin)).toList(),
                body.has("ports"));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Caller caller = caller();
        Port port = owned(id);
        JsonNode c = NeutronBody.one(body, "port");
        NeutronBody.adminOnly(c, "binding:host_id", caller);
        NeutronBody.adminOnly(c, "mac_address", caller);
        PortStore.Change change = new PortStore.Change(NeutronBody.string(c, "name", 255),
                NeutronBody.string(c, "description", 255), NeutronBody.bool(c, "admin_state_up"),
                NeutronBody.string(c, "device_id", 255).or(() -> c.has("device_id") ? Optional.of("")
                        : Optional.empty()),
                NeutronBody.string(c, "device_owner", 255).or(() -> c.has("device_owner") ? Optional.of("")
                        : Optional.empty()),
                NeutronBody.string(c, "binding:host_id", 255).or(() -> c.has("binding:host_id") ? Optional.of("")
                        : Optional.empty()),
                vnicType(c), NeutronBody.bool(c, "port_security_enabled"), fixedIps(c),
                NeutronBody.strings(c, "security_groups"), pairs(c), mac(c));
        return Map.of("port", NetworkViews.port(ports.update(port.id(), change), caller.isAdmin()));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        Port p = owned(id);
        if (Router.isLeg(p) || p.deviceOwner().equals(FloatingIp.OWNER)) {
            throw NetworkException.conflict("L3PortInUse", "Port " + p.id() + " has owner " + p.deviceOwner()
                    + " and therefore cannot be deleted directly via the port API.");
        }
        ports.delete(p.id());
        return Response.noContent().build();
    }

    private Port owned(String id) {
        return ports.find(id).filter(p -> owns(p.projectId())).orElseThrow(() -> NetworkException.notFound("Port", id));
    }

    private static Optional<String> mac(JsonNode p) {
        Optional<String> mac = NeutronBody.string(p, "mac_address", 32);
        mac.filter(m -> !MAC.matcher(m).matches()).ifPresent(m -> {
            throw NeutronBody.invalid("'" + m + "' is not a valid MAC address", "mac_address");
        });
        return mac;
    }

    private static Optional<String> vnicType(JsonNode p) {
        Optional<String> type = NeutronBody.string(p, "binding:vnic_type", 32);
        type.filter(t -> !VNIC_TYPES.contains(t)).ifPresent(t -> {
            throw NeutronBody.invalid("'" + t + "' is not in " + VNIC_TYPES, "binding:vnic_type");
        });
        return type;
    }

    private static Optional<List<IpRequest>> fixedIps(JsonNode p) {
        return NeutronBody.objects(p, "fixed_ips").map(list -> list.stream().map(f -> {
            Optional<String> subnet = NeutronBody.string(f, "subnet_id", 64);
            Optional<IpAddress> ip = NeutronBody.string(f, "ip_address", 64).map(t -> IpAddress.parse(t)
                    .orElseThrow(() -> NeutronBody.invalid("'" + t + "' is not a valid IP address", "fixed_ips")));
            if (subnet.isEmpty() && ip.isEmpty()) {
                throw NeutronBody.invalid("a fixed IP names a subnet_id, an ip_address or both", "fixed_ips");
            }
            return new IpRequest(subnet, ip);
        }).toList());
    }

    private static Optional<List<AddressPair>> pairs(JsonNode p) {
        return NeutronBody.objects(p, "allowed_address_pairs").map(list -> list.stream().map(a -> {
            String ip = NeutronBody.string(a, "ip_address", 64).orElse("");
            Cidr.parse(ip).orElseThrow(() -> NeutronBody.invalid("'" + ip + "' is not a valid IP address or CIDR",
                    "allowed_address_pairs"));
            return new AddressPair(ip, mac(a).orElse(""));
        }).toList());
    }
}
