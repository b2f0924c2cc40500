package io.stratus.scheduler.identity;

import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Keystone's role assignments, narrowed by user and project (its own resource, as in Keystone). */
@Path("/identity/v3/role_assignments")
@Produces(MediaType.APPLICATION_JSON)
public class RoleAssignmentsResource {
    @Inject
    IdentityStore store;

    @Inject
    IdentityViews views;

    @Context
    ContainerRequestContext request;

    /** Keystone's {@code GET /v3/role_assignments}, narrowed by {@code user.id} and {@code scope.project.id}. */
    @GET
    public Map<String, Object> roleAssignments(@QueryParam("user.id") String user,
                                               @QueryParam("scope.project.id") String project) {
        Caller c = TokenFilter.caller(request);
        if (!c.isAdmin() && !c.userId().equals(user)) {
            throw ApiException.forbidden("Policy doesn't allow identity:list_role_assignments to be performed.");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (IdentityStore.Assignment a : store.assignments(Optional.ofNullable(user), Optional.ofNullable(project))) {
            out.add(Map.of("role", Map.of("id", a.role()), "user", Map.of("id", a.accountId()),
                    "scope", Map.of("project", Map.of("id", a.projectId())),
                    "links", Map.of("assignment", views.base() + "/identity/v3/projects/" + a.projectId() + "/users/"
                            + a.accountId() + "/roles/" + a.role())));
        }
        return Map.of("role_assignments", out, "links", views.selfLink("role_assignments"));
    }
}
