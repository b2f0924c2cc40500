package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.PortStore;
import io.stratus.scheduler.network.PortStore.IpRequest;
import io.stratus.scheduler.network.Router;
import io.stratus.scheduler.network.RouterStore;
import io.stratus.scheduler.network.Subnet;
import io.stratus.scheduler.network.Subnet.HostRoute;
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

/**
 * {@code /network/v2.0/routers} (Neutron's router, ext-gw-mode and extraroute extensions): a
 * project's routers, their gateway on an external network, their interfaces on its own or shared
 * subnets, and extra routes. SNAT and the gateway's addresses are chosen by admins only.
 */
@Path("/network/v2.0/routers")
@Produces(MediaType.APPLICATION_JSON)
public class RoutersResource extends NeutronResource {
    @Inject
    RouterStore routers;
    @Inject
    NetworkStore networks;
    @Inject
    SubnetStore subnets;
    @Inject
    PortStore ports;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        return listed("routers", routers.list().stream().filter(r -> owns(r.projectId())).map(NetworkViews::router)
                .toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("router", NetworkViews.router(owned(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        JsonNode r = NeutronBody.one(body, "router");
        String project = NeutronBody.project(r, caller);
        RouterStore.Spec spec = new RouterStore.Spec(project, NeutronBody.string(r, "name", 255).orElse(""),
                NeutronBody.string(r, "description", 255).orElse(""),
                NeutronBody.bool(r, "admin_state_up").orElse(true), gateway(r, caller).flatMap(g -> g));
        if (r.hasNonNull("routes") && !r.get("routes").isEmpty()) {
            throw NeutronBody.invalid("routes cannot be set at create; update the router", "routes");
        }
        quotas.check(project, "router", routers.count(project), 1);
        return Response.status(201).entity(Map.of("router", NetworkViews.router(routers.create(spec)))).build();
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Caller caller = caller();
        Router router = owned(id);
        JsonNode c = NeutronBody.one(body, "router");
        RouterStore.Change change = new RouterStore.Change(NeutronBody.string(c, "name", 255),
                NeutronBody.string(c, "description", 255), NeutronBody.bool(c, "admin_state_up"), gateway(c, caller),
                routes(c));
        return Map.of("router", NetworkViews.router(routers.update(router.id(), change)));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        routers.delete(owned(id).id());
        return Response.noContent().build();
    }

    @PUT
    @Path("/{id}/add_router_interface")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> addInterface(@PathParam("id") String id, JsonNode body) {
        Router router = owned(id);
        InterfaceRequest which = interfaceRequest(body);
        RouterStore.Interface info = which.subnetId().isPresent()
                ? routers.addSubnet(router.id(), visibleSubnet(which.subnetId().get()).id())
                : routers.addPort(router.id(), ownedPort(which.portId().orElseThrow()));
        return NetworkViews.routerInterface(info);
    }

    @PUT
    @Path("/{id}/remove_router_interface")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> removeInterface(@PathParam("id") String id, JsonNode body) {
        Router router = owned(id);
        InterfaceRequest which = interfaceRequest(body);
        RouterStore.Interface info = which.subnetId().isPresent()
                ? routers.removeSubnet(router.id(), visibleSubnet(which.subnetId().get()).id())
                : routers.removePort(router.id(), ownedPort(which.portId().orElseThrow()));
        return NetworkViews.routerInterface(info);
    }

    private record InterfaceRequest(Optional<String> subnetId, Optional<String> portId) {
    }

    private static InterfaceRequest interfaceRequest(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw NetworkException.badRequest("Bad router request: Either subnet_id or port_id must be specified.");
        }
        InterfaceRequest r = new InterfaceRequest(NeutronBody.string(body, "subnet_id", 64),
                NeutronBody.string(body, "port_id", 64));
        if (r.subnetId().isPresent() && r.portId().isPresent()) {
            throw NetworkException.badRequest("Bad router request: Cannot specify both subnet-id and port-id.");
        }
        if (r.subnetId().isEmpty() && r.portId().isEmpty()) {
            throw NetworkException.badRequest("Bad router request: Either subnet_id or port_id must be specified.");
        }
        return r;
    }

    /**
     * The gateway a body asks for: absent (empty), cleared ({@code null} or {}: empty inside), or
     * on a network the caller sees (404 NetworkNotFound otherwise).
     */
    private Optional<Optional<RouterStore.Gateway>> gateway(JsonNode o, Caller caller) {
        if (!o.has("external_gateway_info")) {
            return Optional.empty();
        }
        JsonNode g = o.get("external_gateway_info");
        if (g.isNull() || (g.isObject() && g.isEmpty())) {
            return Optional.of(Optional.empty());
        }
        if (!g.isObject()) {
            throw NeutronBody.invalid("'" + g + "' is not a dictionary", "external_gateway_info");
        }
        for (String attr : List.of("enable_snat", "external_fixed_ips")) {
            if (g.has(attr) && !caller.isAdmin()) {
                throw new ApiException(403, "(rule:update_router:external_gateway_info:" + attr + ") is disallowed"
                        + " by policy", "PolicyNotAuthorized");
            }
        }
        String networkId = NeutronBody.string(g, "network_id", 64).orElseThrow(() ->
                NeutronBody.invalid("network_id is required", "external_gateway_info"));
        networks.find(networkId).filter(this::sees).orElseThrow(() -> NetworkException.notFound("Network",
                networkId));
        Optional<List<IpRequest>> ips = NeutronBody.objects(g, "external_fixed_ips").map(list -> list.stream()
                .map(f -> {
                    Optional<String> subnet = NeutronBody.string(f, "subnet_id", 64);
                    Optional<IpAddress> ip = NeutronBody.string(f, "ip_address", 64).map(t -> IpAddress.parse(t)
                            .orElseThrow(() -> NeutronBody.invalid("'" + t + "' is not a valid IP address",
                                    "external_fixed_ips")));
                    if (subnet.isEmpty() && ip.isEmpty()) {
                        throw NeutronBody.invalid("a fixed IP names a subnet_id, an ip_address or both",
                                "external_fixed_ips");
                    }
                    return new IpRequest(subnet, ip);
                }).toList()).filter(l -> !l.isEmpty());
        return Optional.of(Optional.of(new RouterStore.Gateway(networkId, NeutronBody.bool(g, "enable_snat"), ips)));
    }

    /** The extra routes a body sets: {@code null} clears them. */
    private static Optional<List<HostRoute>> routes(JsonNode o) {
        if (!o.has("routes")) {
            return Optional.empty();
        }
        if (o.get("routes").isNull()) {
            return Optional.of(List.of());
        }
        List<HostRoute> out = new ArrayList<>();
        for (JsonNode r : NeutronBody.objects(o, "routes").orElse(List.of())) {
            String destination = NeutronBody.string(r, "destination", 64).orElseThrow(() ->
                    NeutronBody.invalid("a route needs a destination", "routes"));
            String nexthop = NeutronBody.string(r, "nexthop", 64).orElseThrow(() ->
                    NeutronBody.invalid("a route needs a nexthop", "routes"));
            HostRoute route = new HostRoute(destination, nexthop);
            if (out.contains(route)) {
                throw NeutronBody.invalid("Duplicate items in the list: '" + destination + "'", "routes");
            }
            out.add(route);
        }
        return Optional.of(out);
    }

    /** A router the caller may see and change: its own (an admin's: any); others' are not found. */
    private Router owned(String id) {
        return routers.find(id).filter(r -> owns(r.projectId())).orElseThrow(() ->
                NetworkException.notFound("Router", id));
    }

    /** A subnet the caller may attach: on its own or a shared network. */
    private Subnet visibleSubnet(String id) {
        return subnets.find(id).filter(s -> networks.find(s.networkId()).filter(this::seesSubnetsOf).isPresent())
                .orElseThrow(() -> NetworkException.notFound("Subnet", id));
    }

    private String ownedPort(String id) {
        return ports.find(id).filter(p -> owns(p.projectId())).orElseThrow(() -> NetworkException.notFound("Port",
                id)).id();
    }
}
