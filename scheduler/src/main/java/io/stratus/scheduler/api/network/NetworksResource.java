package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.NetworkType;
import io.stratus.scheduler.network.Subnet;
import io.stratus.scheduler.network.SubnetStore;
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
import java.util.stream.Collectors;

/**
 * {@code /network/v2.0/networks}: members see their own, shared and external networks; the
 * provider attributes, {@code shared} and {@code router:external} are set by admins only.
 */
@Path("/network/v2.0/networks")
@Produces(MediaType.APPLICATION_JSON)
public class NetworksResource extends NeutronResource {
    @Inject
    NetworkStore networks;
    @Inject
    SubnetStore subnets;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        Map<String, List<String>> subnetIds = subnets.list().stream().collect(Collectors.groupingBy(
                Subnet::networkId, Collectors.mapping(Subnet::id, Collectors.toList())));
        boolean admin = caller().isAdmin();
        return listed("networks", networks.list().stream().filter(this::sees)
                .map(n -> NetworkViews.network(n, subnetIds.getOrDefault(n.id(), List.of()), admin)).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("network", view(visible(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<JsonNode> items = NeutronBody.creates(body, "network", "networks");
        List<NetworkStore.Spec> specs = new ArrayList<>();
        for (JsonNode n : items) {
            for (String attr : List.of("provider:network_type", "provider:segmentation_id",
                    "provider:physical_network", "router:external", "shared")) {
                NeutronBody.adminOnly(n, attr, caller);
            }
            Optional<NetworkType> type = NeutronBody.string(n, "provider:network_type", 16).map(t ->
                    NetworkType.ofApiName(t).orElseThrow(() -> NeutronBody.invalid("network type " + t
                            + " is not supported; only vxlan and flat are", "provider:network_type")));
            specs.add(new NetworkStore.Spec(NeutronBody.project(n, caller), NeutronBody.string(n, "name", 255)
                    .orElse(""), NeutronBody.string(n, "description", 255).orElse(""),
                    NeutronBody.bool(n, "admin_state_up").orElse(true), NeutronBody.bool(n, "shared").orElse(false),
                    NeutronBody.bool(n, "router:external").orElse(false), type,
                    NeutronBody.integer(n, "provider:segmentation_id"),
                    NeutronBody.string(n, "provider:physical_network", 64), NeutronBody.integer(n, "mtu"),
                    NeutronBody.bool(n, "port_security_enabled").orElse(true)));
        }
        for (NetworkStore.Spec s : specs) {
            quotas.check(s.projectId(), "network", networks.count(s.projectId()), specs.stream()
                    .filter(o -> o.projectId().equals(s.projectId())).count());
        }
        List<Map<String, Object>> made = new ArrayList<>();
        for (NetworkStore.Spec s : specs) {
            made.add(view(networks.create(s)));
        }
        return created("network", "networks", made, items.size() > 1 || body.has("networks"));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Caller caller = caller();
        Network n = owned(id);
        JsonNode c = NeutronBody.one(body, "network");
        for (String attr : List.of("provider:network_type", "provider:segmentation_id", "provider:physical_network",
                "router:external", "shared")) {
            NeutronBody.adminOnly(c, attr, caller);
        }
        Network changed = new Network(n.id(), n.projectId(), NeutronBody.string(c, "name", 255).orElse(n.name()),
                NeutronBody.string(c, "description", 255).orElse(n.description()),
                NeutronBody.bool(c, "admin_state_up").orElse(n.adminStateUp()),
                NeutronBody.bool(c, "shared").orElse(n.shared()),
                NeutronBody.bool(c, "router:external").orElse(n.external()), n.type(), n.segmentationId(),
                n.physicalNetwork(), NeutronBody.integer(c, "mtu").orElse(n.mtu()),
                NeutronBody.bool(c, "port_security_enabled").orElse(n.portSecurityEnabled()), n.revision());
        return Map.of("network", view(networks.update(changed)));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        networks.delete(owned(id).id());
        return Response.noContent().build();
    }

    private Network visible(String id) {
        return networks.find(id).filter(this::sees).orElseThrow(() -> NetworkException.notFound("Network", id));
    }

    /** A network the caller may change: its own (an admin's: any); others' are not found. */
    private Network owned(String id) {
        return networks.find(id).filter(n -> owns(n.projectId())).orElseThrow(() ->
                NetworkException.notFound("Network", id));
    }

    private Map<String, Object> view(Network n) {
        return NetworkViews.network(n, subnets.of(n.id()).stream().map(Subnet::id).toList(), caller().isAdmin());
    }
}
