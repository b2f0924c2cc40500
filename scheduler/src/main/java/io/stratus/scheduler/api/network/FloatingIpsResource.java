package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.FloatingIp;
import io.stratus.scheduler.network.FloatingIpStore;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.PortStore;
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
import java.util.Map;
import java.util.Optional;

/**
 * {@code /network/v2.0/floatingips}: a project's floating IPs from the external networks, each
 * associated with a fixed address of one of its ports (or none). Only admins choose the address.
 */
@Path("/network/v2.0/floatingips")
@Produces(MediaType.APPLICATION_JSON)
public class FloatingIpsResource extends NeutronResource {
    @Inject
    FloatingIpStore floatingIps;
    @Inject
    NetworkStore networks;
    @Inject
    PortStore ports;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        return listed("floatingips", floatingIps.list().stream().filter(f -> owns(f.projectId()))
                .map(NetworkViews::floatingIp).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("floatingip", NetworkViews.floatingIp(owned(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        JsonNode f = NeutronBody.one(body, "floatingip");
        NeutronBody.adminOnly(f, "floating_ip_address", caller);
        String project = NeutronBody.project(f, caller);
        String networkId = NeutronBody.string(f, "floating_network_id", 64).orElseThrow(() ->
                NeutronBody.invalid("floating_network_id is required", "floating_network_id"));
        networks.find(networkId).filter(this::sees).orElseThrow(() -> NetworkException.notFound("Network",
                networkId));
        Optional<IpAddress> address = NeutronBody.string(f, "floating_ip_address", 64).map(t -> IpAddress.parse(t)
                .orElseThrow(() -> NeutronBody.invalid("'" + t + "' is not a valid IP address",
                        "floating_ip_address")));
        Optional<String> portId = NeutronBody.string(f, "port_id", 64).map(this::ownedPort);
        FloatingIpStore.Spec spec = new FloatingIpStore.Spec(project, networkId,
                NeutronBody.string(f, "subnet_id", 64), address, NeutronBody.string(f, "description", 255).orElse(""),
                portId, fixedIp(f));
        quotas.check(project, "floatingip", floatingIps.count(project), 1);
        return Response.status(201).entity(Map.of("floatingip", NetworkViews.floatingIp(floatingIps.create(spec))))
                .build();
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        FloatingIp fip = owned(id);
        JsonNode c = NeutronBody.one(body, "floatingip");
        Optional<Optional<String>> portId = c.has("port_id")
                ? Optional.of(NeutronBody.string(c, "port_id", 64).map(this::ownedPort)) : Optional.empty();
        return Map.of("floatingip", NetworkViews.floatingIp(floatingIps.update(fip.id(), portId, fixedIp(c),
                NeutronBody.string(c, "description", 255))));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        floatingIps.delete(owned(id).id());
        return Response.noContent().build();
    }

    private static Optional<String> fixedIp(JsonNode f) {
        return NeutronBody.string(f, "fixed_ip_address", 64).map(t -> IpAddress.parse(t).map(IpAddress::toString)
                .orElseThrow(() -> NeutronBody.invalid("'" + t + "' is not a valid IP address", "fixed_ip_address")));
    }

    private FloatingIp owned(String id) {
        return floatingIps.find(id).filter(f -> owns(f.projectId())).orElseThrow(() ->
                NetworkException.notFound("FloatingIP", id));
    }

    private String ownedPort(String id) {
        return ports.find(id).filter(p -> owns(p.projectId())).orElseThrow(() -> NetworkException.notFound("Port",
                id)).id();
    }
}
