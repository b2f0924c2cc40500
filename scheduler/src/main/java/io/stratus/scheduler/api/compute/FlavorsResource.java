package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** {@code /compute/v2.1/flavors}: everyone lists and shows public flavors; admins create and delete. */
@Path("/compute/v2.1/flavors")
@Produces(MediaType.APPLICATION_JSON)
public class FlavorsResource {
    /** Sizes a single host can plausibly give one guest; beyond is a typo, not a flavor. */
    private static final long MAX_VCPUS = 1024;
    private static final long MAX_RAM_MIB = 16L * 1024 * 1024;
    private static final long MAX_DISK_GIB = 1024L * 1024;

    @Inject
    FlavorStore flavors;
    @Inject
    SchedulerConfig config;
    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list() {
        return Map.of("flavors", visible().stream().map(f -> Map.of("id", f.id(), "name", f.name(),
                "links", Views.links(config.publicUrl(), "flavors", f.id()))).toList());
    }

    @GET
    @Path("/detail")
    public Map<String, Object> detail() {
        return Map.of("flavors", visible().stream().map(f -> Views.flavor(config.publicUrl(), f)).toList());
    }

    private List<Flavor> visible() {
        Caller c = TokenFilter.caller(request);
        return flavors.all().stream().filter(f -> c.isAdmin() || flavors.usableBy(f, c.projectId())).toList();
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        Caller c = TokenFilter.caller(request);
        Flavor f = flavors.byId(id).filter(x -> c.isAdmin() || flavors.usableBy(x, c.projectId()))
                .orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
        return Map.of("flavor", Views.flavor(config.publicUrl(), f));
    }

    @GET
    @Path("/{id}/os-extra_specs")
    public Map<String, Object> extraSpecs(@PathParam("id") String id) {
        show(id);
        return Map.of("extra_specs", Map.of());
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        TokenFilter.admin(request, "os_compute_api:os-flavor-manage:create");
        JsonNode f = Json.object(body, "flavor");
        String id = Json.optionalString(f, "id", 64).filter(s -> !s.equalsIgnoreCase("auto"))
                .orElse(UUID.randomUUID().toString());
        if (!id.matches("[A-Za-z0-9._-]+")) {
            throw ApiException.badRequest("flavor id may hold letters, digits, '.', '_' and '-' only");
        }
        Flavor created = flavors.create(new Flavor(id, Json.string(f, "name", 255),
                (int) Json.integer(f, "vcpus", 1, MAX_VCPUS), Json.integer(f, "ram", 1, MAX_RAM_MIB),
                Json.integer(f, "disk", 0, MAX_DISK_GIB),
                Json.optionalBoolean(f, "os-flavor-access:is_public", true)));
        return Response.ok(Map.of("flavor", Views.flavor(config.publicUrl(), created))).build();
    }

    /** The projects a private flavor is shared with (admin). */
    @GET
    @Path("/{id}/os-flavor-access")
    public Map<String, Object> access(@PathParam("id") String id) {
        TokenFilter.admin(request, "os_compute_api:os-flavor-access");
        Flavor f = flavors.byId(id).orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
        if (f.isPublic()) {
            throw ApiException.notFound("Access list not available for public flavors.");
        }
        return accessList(id);
    }

    /** Nova's addTenantAccess / removeTenantAccess actions on a private flavor (admin). */
    @POST
    @Path("/{id}/action")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> accessAction(@PathParam("id") String id, JsonNode body) {
        TokenFilter.admin(request, "os_compute_api:os-flavor-access");
        Flavor f = flavors.byId(id).orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
        if (body != null && body.has("addTenantAccess")) {
            if (f.isPublic()) {
                throw ApiException.conflict("Can not add access to a public flavor.");
            }
            flavors.grantAccess(id, Json.string(Json.object(body, "addTenantAccess"), "tenant", 255));
        } else if (body != null && body.has("removeTenantAccess")) {
            flavors.revokeAccess(id, Json.string(Json.object(body, "removeTenantAccess"), "tenant", 255));
        } else {
            throw ApiException.badRequest("a flavor action is addTenantAccess or removeTenantAccess");
        }
        return accessList(id);
    }

    private Map<String, Object> accessList(String id) {
        return Map.of("flavor_access", flavors.projectsWithAccess(id).stream()
                .map(p -> Map.of("flavor_id", id, "tenant_id", p)).toList());
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        TokenFilter.admin(request, "os_compute_api:os-flavor-manage:delete");
        if (!flavors.delete(id)) {
            throw ApiException.notFound("Flavor " + id + " could not be found.");
        }
        return Response.accepted().build();
    }
}
