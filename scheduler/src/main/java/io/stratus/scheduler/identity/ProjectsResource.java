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
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
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

/**
 * Keystone's projects (a member sees the projects it has a role on; an admin changes them) and the
 * role grants on them ({@code /projects/{p}/users/{u}/roles/{r}}: admin only).
 */
@Path("/identity/v3/projects")
@Produces(MediaType.APPLICATION_JSON)
public class ProjectsResource {
    @Inject
    IdentityStore store;

    @Inject
    IdentityViews views;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> projects(@QueryParam("name") String name) {
        Caller c = TokenFilter.caller(request);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Project p : store.projects()) {
            boolean visible = c.isAdmin() || !store.roles(c.userId(), p.id()).isEmpty();
            if (visible && (name == null || name.equals(p.name()))) {
                out.add(views.project(p));
            }
        }
        return Map.of("projects", out, "links", views.selfLink("projects"));
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> project(@PathParam("id") String id) {
        Caller c = TokenFilter.caller(request);
        Project p = store.project(id).filter(x -> x.id().equals(id))
                .orElseThrow(() -> ApiException.notFound("Could not find project: " + id));
        if (!c.isAdmin() && store.roles(c.userId(), p.id()).isEmpty()) {
            throw ApiException.notFound("Could not find project: " + id);
        }
        return Map.of("project", views.project(p));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createProject(JsonNode body) {
        TokenFilter.admin(request, "identity:create_project");
        JsonNode p = Json.object(body, "project");
        IdentityViews.defaultDomainOnly(p);
        Project created = store.createProject(Json.string(p, "name", 64),
                Json.optionalString(p, "description", 1024).orElse(""));
        return Response.status(201).entity(Map.of("project", views.project(created))).build();
    }

    @PATCH
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> updateProject(@PathParam("id") String id, JsonNode body) {
        TokenFilter.admin(request, "identity:update_project");
        JsonNode p = Json.object(body, "project");
        return Map.of("project", views.project(store.updateProject(id, Json.optionalString(p, "name", 64),
                Json.optionalString(p, "description", 1024))));
    }

    @DELETE
    @Path("/{id}")
    public Response deleteProject(@PathParam("id") String id) {
        TokenFilter.admin(request, "identity:delete_project");
        store.deleteProject(id);
        return Response.noContent().build();
    }

    @PUT
    @Path("/{project}/users/{user}/roles/{role}")
    public Response grant(@PathParam("project") String project, @PathParam("user") String user,
                          @PathParam("role") String role) {
        TokenFilter.admin(request, "identity:create_grant");
        Assignment g = assignment(project, user, role);
        store.assignRole(g.accountId(), g.projectId(), g.role());
        return Response.noContent().build();
    }

    @DELETE
    @Path("/{project}/users/{user}/roles/{role}")
    public Response revokeGrant(@PathParam("project") String project, @PathParam("user") String user,
                                @PathParam("role") String role) {
        TokenFilter.admin(request, "identity:revoke_grant");
        Assignment g = assignment(project, user, role);
        store.unassignRole(g.accountId(), g.projectId(), g.role());
        return Response.noContent().build();
    }

    @HEAD
    @Path("/{project}/users/{user}/roles/{role}")
    public Response checkGrant(@PathParam("project") String project, @PathParam("user") String user,
                               @PathParam("role") String role) {
        TokenFilter.admin(request, "identity:check_grant");
        Assignment g = assignment(project, user, role);
        if (!store.roles(g.accountId(), g.projectId()).contains(g.role())) {
            throw ApiException.notFound("Could not find role assignment with role: " + role);
        }
        return Response.noContent().build();
    }

    @GET
    @Path("/{project}/users/{user}/roles")
    public Map<String, Object> grants(@PathParam("project") String project, @PathParam("user") String user) {
        TokenFilter.admin(request, "identity:list_grants");
        Project p = views.existingProject(project);
        Account a = views.existingUser(user);
        return Map.of("roles", store.roles(a.id(), p.id()).stream().sorted().map(views::role).toList(),
                "links", views.selfLink("projects/" + project + "/users/" + user + "/roles"));
    }

    private record Assignment(String accountId, String projectId, String role) {
    }

    /** The project, user and role of an assignment path, each of which must exist (404 otherwise). */
    private Assignment assignment(String project, String user, String role) {
        Project p = views.existingProject(project);
        Account a = views.existingUser(user);
        if (!IdentityStore.roles().contains(role)) {
            throw ApiException.notFound("Could not find role: " + role);
        }
        return new Assignment(a.id(), p.id(), role);
    }
}
