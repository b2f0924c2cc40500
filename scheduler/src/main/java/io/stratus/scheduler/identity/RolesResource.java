package io.stratus.scheduler.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.TokenFilter;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Keystone's roles: Stratus's are fixed, each meaning something to its policies. */
@Path("/identity/v3/roles")
@Produces(MediaType.APPLICATION_JSON)
public class RolesResource {
    @Inject
    IdentityStore store;

    @Inject
    IdentityViews views;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> roles(@QueryParam("name") String name) {
        TokenFilter.caller(request);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String r : IdentityStore.roles().stream().sorted().toList()) {
            if (name == null || name.equals(r)) {
                out.add(views.role(r));
            }
        }
        return Map.of("roles", out, "links", views.selfLink("roles"));
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> role(@PathParam("id") String id) {
        TokenFilter.caller(request);
        if (!IdentityStore.roles().contains(id)) {
            throw ApiException.notFound("Could not find role: " + id);
        }
        return Map.of("role", views.role(id));
    }

    /** Stratus's roles are fixed (each means something to its policies): creating one that exists conflicts. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createRole(JsonNode body) {
        TokenFilter.admin(request, "identity:create_role");
        String name = Json.string(Json.object(body, "role"), "name", 255);
        if (IdentityStore.roles().contains(name)) {
            throw ApiException.conflict("Duplicate entry found with name " + name + " at domain ID None.");
        }
        throw ApiException.forbidden("Stratus's roles are fixed: " + IdentityStore.roles().stream().sorted().toList());
    }
}
