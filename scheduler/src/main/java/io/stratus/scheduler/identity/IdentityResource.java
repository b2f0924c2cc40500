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
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Identity API v3 subset OpenStack clients use — this class: version discovery, password and
 * token authentication with a service catalog, and the one domain. Projects, users, roles and
 * role assignments have resources of their own, as Keystone's API has. Everything lives in the
 * single {@code Default} domain.
 */
@Path("/identity")
@Produces(MediaType.APPLICATION_JSON)
public class IdentityResource {
    @Inject
    IdentityStore store;

    @Inject
    IdentityViews views;

    @Context
    ContainerRequestContext request;

    @GET
    public Response versions() {
        return Response.status(300).entity(Map.of("versions", Map.of("values", List.of(version())))).build();
    }

    @GET
    @Path("/v3")
    public Map<String, Object> v3() {
        return Map.of("version", version());
    }

    private Map<String, Object> version() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", "v3.14");
        v.put("status", "stable");
        v.put("updated", "2020-04-07T00:00:00Z");
        v.put("links", List.of(Map.of("rel", "self", "href", views.base() + "/identity/v3/")));
        v.put("media-types", List.of(Map.of("base", "application/json",
                "type", "application/vnd.openstack.identity-v3+json")));
        return v;
    }

    @POST
    @Path("/v3/auth/tokens")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response issue(JsonNode body) {
        JsonNode identity = Json.object(Json.object(body, "auth"), "identity");
        JsonNode methods = identity.get("methods");
        if (methods == null || !methods.isArray() || methods.isEmpty()) {
            throw ApiException.badRequest("auth.identity.methods must list 'password' or 'token'");
        }
        Optional<String> scope = projectScope(Json.object(body, "auth"));
        IdentityStore.Issued issued;
        String method = methods.get(0).asText();
        if (method.equals("password")) {
            JsonNode user = Json.object(Json.object(identity, "password"), "user");
            String name = Json.optionalString(user, "id", 255).orElseGet(() -> Json.string(user, "name", 255));
            issued = store.authenticate(name, Json.string(user, "password", 4096), scope);
        } else if (method.equals("token")) {
            String token = Json.string(Json.object(identity, "token"), "id", 256);
            Token from = store.token(token).orElseThrow(() ->
                    ApiException.unauthorized("The token is invalid or has expired; authenticate again."));
            issued = store.rescope(from, scope);
        } else {
            throw ApiException.badRequest("auth method '" + method + "' is not supported; use password or token");
        }
        return Response.status(201).header("X-Subject-Token", issued.secret())
                .entity(Map.of("token", views.token(issued.token()))).build();
    }

    private static Optional<String> projectScope(JsonNode auth) {
        JsonNode scope = auth.get("scope");
        if (scope == null || scope.isNull() || (scope.isTextual() && scope.asText().equals("unscoped"))) {
            return Optional.empty();
        }
        if (!scope.has("project")) {
            throw ApiException.badRequest("only project scope is supported; name auth.scope.project");
        }
        JsonNode project = Json.object(scope, "project");
        return Optional.of(Json.optionalString(project, "id", 255)
                .orElseGet(() -> Json.string(project, "name", 255)));
    }

    @GET
    @Path("/v3/auth/tokens")
    public Response validate() {
        TokenFilter.caller(request);
        String subject = subjectToken();
        Token token = store.token(subject).orElseThrow(() ->
                ApiException.notFound("Could not find token: " + subject));
        return Response.ok(Map.of("token", views.token(token))).header("X-Subject-Token", subject).build();
    }

    @HEAD
    @Path("/v3/auth/tokens")
    public Response check() {
        validate();
        return Response.ok().build();
    }

    @DELETE
    @Path("/v3/auth/tokens")
    public Response revoke() {
        TokenFilter.caller(request);
        String subject = subjectToken();
        store.token(subject).orElseThrow(() -> ApiException.notFound("Could not find token: " + subject));
        store.revoke(subject);
        return Response.noContent().build();
    }

    private String subjectToken() {
        String subject = request.getHeaderString("X-Subject-Token");
        if (subject == null || subject.isBlank()) {
            throw ApiException.badRequest("Expecting to find X-Subject-Token in the request: the token to check or revoke.");
        }
        return subject.trim();
    }

    /** The service catalog of the caller's token, as Keystone serves it apart from the token. */
    @GET
    @Path("/v3/auth/catalog")
    public Map<String, Object> catalog() {
        TokenFilter.caller(request);
        return Map.of("catalog", views.catalog(), "links", views.selfLink("auth/catalog"));
    }

    @GET
    @Path("/v3/auth/projects")
    public Map<String, Object> myProjects() {
        Caller c = TokenFilter.caller(request);
        return Map.of("projects", views.projectsOf(c.userId()), "links", views.selfLink("auth/projects"));
    }

    @GET
    @Path("/v3/domains")
    public Map<String, Object> domains() {
        TokenFilter.caller(request);
        return Map.of("domains", List.of(views.domain()));
    }

    @GET
    @Path("/v3/domains/{id}")
    public Map<String, Object> domain(@PathParam("id") String id) {
        TokenFilter.caller(request);
        if (!id.equals("default") && !id.equals("Default")) {
            throw ApiException.notFound("Could not find domain: " + id + " (there is one, 'default')");
        }
        return Map.of("domain", views.domain());
    }
}
