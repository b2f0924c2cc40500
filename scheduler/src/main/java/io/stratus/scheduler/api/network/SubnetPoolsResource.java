package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.SubnetPool;
import io.stratus.scheduler.network.SubnetPoolStore;
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

/** {@code /network/v2.0/subnetpools}: a project's pools and the shared ones (shared and default by admins). */
@Path("/network/v2.0/subnetpools")
@Produces(MediaType.APPLICATION_JSON)
public class SubnetPoolsResource extends NeutronResource {
    @Inject
    SubnetPoolStore pools;

    @GET
    public Map<String, Object> list() {
        return listed("subnetpools", pools.list().stream().filter(p -> p.shared() || owns(p.projectId()))
                .map(NetworkViews::subnetPool).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("subnetpool", NetworkViews.subnetPool(pools.find(id).filter(p -> p.shared()
                || owns(p.projectId())).orElseThrow(() -> NetworkException.notFound("SubnetPool", id))));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<Map<String, Object>> made = new ArrayList<>();
        for (JsonNode p : NeutronBody.creates(body, "subnetpool", "subnetpools")) {
            NeutronBody.adminOnly(p, "shared", caller);
            NeutronBody.adminOnly(p, "is_default", caller);
            List<Cidr> prefixes = prefixes(p).orElseThrow(() -> NeutronBody.invalid("prefixes is required",
                    "prefixes"));
            int version = prefixes.isEmpty() ? 4 : prefixes.get(0).version();
            int bits = version == 4 ? 32 : 128;
            int min = NeutronBody.integer(p, "min_prefixlen").orElse(prefixes.stream().mapToInt(Cidr::prefix).max()
                    .orElse(8));
            int max = NeutronBody.integer(p, "max_prefixlen").orElse(bits);
            made.add(NetworkViews.subnetPool(pools.create(new SubnetPool("", NeutronBody.project(p, caller),
                    NeutronBody.string(p, "name", 255).orElse(""), NeutronBody.string(p, "description", 255)
                    .orElse(""), version, prefixes, NeutronBody.integer(p, "default_prefixlen").orElse(min), min, max,
                    NeutronBody.bool(p, "shared").orElse(false), NeutronBody.bool(p, "is_default").orElse(false),
                    null))));
        }
        return created("subnetpool", "subnetpools", made, body.has("subnetpools"));
    }

    private static Optional<List<Cidr>> prefixes(JsonNode p) {
        return NeutronBody.strings(p, "prefixes").map(list -> list.stream().map(text -> Cidr.parse(text)
                .orElseThrow(() -> NeutronBody.invalid("'" + text + "' is not a valid IP subnet", "prefixes")))
                .toList());
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Caller caller = caller();
        SubnetPool p = owned(id);
        JsonNode c = NeutronBody.one(body, "subnetpool");
        NeutronBody.adminOnly(c, "shared", caller);
        NeutronBody.adminOnly(c, "is_default", caller);
        return Map.of("subnetpool", NetworkViews.subnetPool(pools.update(new SubnetPool(p.id(), p.projectId(),
                NeutronBody.string(c, "name", 255).orElse(p.name()),
                NeutronBody.string(c, "description", 255).orElse(p.description()), p.ipVersion(),
                prefixes(c).orElse(p.prefixes()), NeutronBody.integer(c, "default_prefixlen")
                .orElse(p.defaultPrefixlen()), NeutronBody.integer(c, "min_prefixlen").orElse(p.minPrefixlen()),
                NeutronBody.integer(c, "max_prefixlen").orElse(p.maxPrefixlen()),
                NeutronBody.bool(c, "shared").orElse(p.shared()), NeutronBody.bool(c, "is_default")
                .orElse(p.isDefault()), p.revision()))));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        pools.delete(owned(id).id());
        return Response.noContent().build();
    }

    private SubnetPool owned(String id) {
        return pools.find(id).filter(p -> owns(p.projectId()))
                .orElseThrow(() -> NetworkException.notFound("SubnetPool", id));
    }
}
