package io.stratus.scheduler.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
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
import java.util.Optional;

/**
 * Keystone's users: listed, made and changed by an admin; a user reads itself, its projects and
 * changes its own password.
 */
@Path("/identity/v3/users")
@Produces(MediaType.APPLICATION_JSON)
public class UsersResource {
    @Inject
    IdentityStore store;

    @Inject
    IdentityViews views;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> users(@QueryParam("name") String name) {
        TokenFilter.admin(request, "identity:list_users");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Account a : store.accounts()) {
            if (name == null || name.equals(a.name())) {
                out.add(views.user(a));
            }
        }
        return Map.of("users", out, "links", views.selfLink("users"));
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> user(@PathParam("id") String id) {
        return Map.of("user", views.user(ownOrAdmin(id, "identity:get_user")));
    }

    /** The user {@code id}, for the user itself or an admin (Keystone's default policy for {@code rule}). */
    private Account ownOrAdmin(String id, String rule) {
        Caller c = TokenFilter.caller(request);
        Account a = store.account(id).filter(x -> x.id().equals(id))
                .orElseThrow(() -> ApiException.notFound("Could not find user: " + id));
        if (!c.isAdmin() && !c.userId().equals(a.id())) {
            throw ApiException.forbidden("Policy doesn't allow " + rule + " to be performed.");
        }
        return a;
    }

    /** The projects a user has a role on: the user itself or an admin may ask (Keystone's policy). */
    @GET
    @Path("/{id}/projects")
    public Map<String, Object> userProjects(@PathParam("id") String id) {
        Account a = ownOrAdmin(id, "identity:list_user_projects");
        return Map.of("projects", views.projectsOf(a.id()), "links", views.selfLink("users/" + id + "/projects"));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createUser(JsonNode body) {
        TokenFilter.admin(request, "identity:create_user");
        JsonNode u = Json.object(body, "user");
        IdentityViews.defaultDomainOnly(u);
        String project = defaultProject(u).orElse(null);
        Account a = store.createUser(Json.string(u, "name", 64), Json.string(u, "password", 4096), project);
        if (!Json.optionalBoolean(u, "enabled", true)) {
            a = store.updateUser(a.id(), new IdentityStore.UserChange(Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of(false)));
        }
        return Response.status(201).entity(Map.of("user", views.user(a))).build();
    }

    /** {@code default_project_id} of a user body: an existing project's id, or absent (Keystone allows none). */
    private Optional<String> defaultProject(JsonNode u) {
        return Json.optionalString(u, "default_project_id", 255).map(ref -> store.project(ref)
                .orElseThrow(() -> ApiException.badRequest("no project " + ref)).id());
    }

    /**
     * Changes a user (admin): name, password, default project, enabled. A new password or
     * disabling revokes the user's tokens.
     */
    @PATCH
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> updateUser(@PathParam("id") String id, JsonNode body) {
        TokenFilter.admin(request, "identity:update_user");
        JsonNode u = Json.object(body, "user");
        Optional<Optional<String>> project = !u.has("default_project_id") ? Optional.empty()
                : Optional.of(u.get("default_project_id").isNull() ? Optional.empty() : defaultProject(u));
        Optional<Boolean> enabled = u.hasNonNull("enabled") ? Optional.of(Json.optionalBoolean(u, "enabled", true))
                : Optional.empty();
        return Map.of("user", views.user(store.updateUser(id, new IdentityStore.UserChange(Json.optionalString(u, "name", 64),
                Json.optionalString(u, "password", 4096), project, enabled))));
    }

    /** A user changes its own password, giving the old one (Keystone's {@code identity:change_password}). */
    @POST
    @Path("/{id}/password")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response changePassword(@PathParam("id") String id, JsonNode body) {
        Caller c = TokenFilter.caller(request);
        if (!c.userId().equals(id)) {
            throw ApiException.forbidden("Policy doesn't allow identity:change_password to be performed: a user"
                    + " changes its own password.");
        }
        JsonNode u = Json.object(body, "user");
        store.changePassword(id, Json.string(u, "original_password", 4096), Json.string(u, "password", 4096));
        return Response.noContent().build();
    }

    @DELETE
    @Path("/{id}")
    public Response deleteUser(@PathParam("id") String id) {
        TokenFilter.admin(request, "identity:delete_user");
        store.deleteUser(id);
        return Response.noContent().build();
    }
}
