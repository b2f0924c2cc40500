package io.stratus.scheduler.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.service.SchedulerConfig;
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
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Identity API v3 subset OpenStack clients use: version discovery, password tokens with a
 * service catalog, and the projects, users and role assignments an operator needs to add tenants.
 * Everything lives in the single {@code Default} domain.
 */
@Path("/identity")
@Produces(MediaType.APPLICATION_JSON)
public class IdentityResource {
    private static final DateTimeFormatter TOKEN_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private static final Map<String, Object> DOMAIN = Map.of("id", "default", "name", "Default");

    @Inject
    IdentityStore store;

    @Inject
    SchedulerConfig config;

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
        v.put("links", List.of(Map.of("rel", "self", "href", base() + "/identity/v3/")));
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
                .entity(Map.of("token", token(issued.token()))).build();
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
        return Response.ok(Map.of("token", token(token))).header("X-Subject-Token", subject).build();
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
        return Map.of("catalog", catalogEntries(), "links", Map.of("self", base() + "/identity/v3/auth/catalog"));
    }

    @GET
    @Path("/v3/auth/projects")
    public Map<String, Object> myProjects() {
        Caller c = TokenFilter.caller(request);
        return Map.of("projects", projectsOf(c.userId()), "links", Map.of("self", base()
                + "/identity/v3/auth/projects"));
    }

    @GET
    @Path("/v3/projects")
    public Map<String, Object> projects(@QueryParam("name") String name) {
        Caller c = TokenFilter.caller(request);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Project p : store.projects()) {
            boolean visible = c.isAdmin() || !store.roles(c.userId(), p.id()).isEmpty();
            if (visible && (name == null || name.equals(p.name()))) {
                out.add(project(p));
            }
        }
        return Map.of("projects", out, "links", Map.of("self", base() + "/identity/v3/projects"));
    }

    @GET
    @Path("/v3/projects/{id}")
    public Map<String, Object> project(@PathParam("id") String id) {
        Caller c = TokenFilter.caller(request);
        Project p = store.project(id).filter(x -> x.id().equals(id))
                .orElseThrow(() -> ApiException.notFound("Could not find project: " + id));
        if (!c.isAdmin() && store.roles(c.userId(), p.id()).isEmpty()) {
            throw ApiException.notFound("Could not find project: " + id);
        }
        return Map.of("project", project(p));
    }

    @POST
    @Path("/v3/projects")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createProject(JsonNode body) {
        TokenFilter.admin(request, "identity:create_project");
        JsonNode p = Json.object(body, "project");
        defaultDomainOnly(p);
        Project created = store.createProject(Json.string(p, "name", 64),
                Json.optionalString(p, "description", 1024).orElse(""));
        return Response.status(201).entity(Map.of("project", project(created))).build();
    }

    @PATCH
    @Path("/v3/projects/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> updateProject(@PathParam("id") String id, JsonNode body) {
        TokenFilter.admin(request, "identity:update_project");
        JsonNode p = Json.object(body, "project");
        return Map.of("project", project(store.updateProject(id, Json.optionalString(p, "name", 64),
                Json.optionalString(p, "description", 1024))));
    }

    @DELETE
    @Path("/v3/projects/{id}")
    public Response deleteProject(@PathParam("id") String id) {
        TokenFilter.admin(request, "identity:delete_project");
        store.deleteProject(id);
        return Response.noContent().build();
    }

    /** Stratus has the one domain, {@code default}: a request for another is refused, not silently moved. */
    private static void defaultDomainOnly(JsonNode entity) {
        Optional<String> domain = Json.optionalString(entity, "domain_id", 64);
        if (domain.isPresent() && !domain.get().equals("default")) {
            throw ApiException.badRequest("domain " + domain.get() + " does not exist: Stratus has the one domain"
                    + " 'default'");
        }
    }

    @GET
    @Path("/v3/users")
    public Map<String, Object> users(@QueryParam("name") String name) {
        TokenFilter.admin(request, "identity:list_users");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Account a : store.accounts()) {
            if (name == null || name.equals(a.name())) {
                out.add(user(a));
            }
        }
        return Map.of("users", out, "links", Map.of("self", base() + "/identity/v3/users"));
    }

    @GET
    @Path("/v3/users/{id}")
    public Map<String, Object> user(@PathParam("id") String id) {
        return Map.of("user", user(ownOrAdmin(id, "identity:get_user")));
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

    /** The projects {@code accountId} has a role on. */
    private List<Map<String, Object>> projectsOf(String accountId) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Project p : store.projects()) {
            if (!store.roles(accountId, p.id()).isEmpty()) {
                out.add(project(p));
            }
        }
        return out;
    }

    /** The projects a user has a role on: the user itself or an admin may ask (Keystone's policy). */
    @GET
    @Path("/v3/users/{id}/projects")
    public Map<String, Object> userProjects(@PathParam("id") String id) {
        Account a = ownOrAdmin(id, "identity:list_user_projects");
        return Map.of("projects", projectsOf(a.id()), "links", Map.of("self", base() + "/identity/v3/users/" + id + "/projects"));
    }

    @POST
    @Path("/v3/users")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createUser(JsonNode body) {
        TokenFilter.admin(request, "identity:create_user");
        JsonNode u = Json.object(body, "user");
        defaultDomainOnly(u);
        String project = defaultProject(u).orElse(null);
        Account a = store.createUser(Json.string(u, "name", 64), Json.string(u, "password", 4096), project);
        if (!Json.optionalBoolean(u, "enabled", true)) {
            a = store.updateUser(a.id(), new IdentityStore.UserChange(Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of(false)));
        }
        return Response.status(201).entity(Map.of("user", user(a))).build();
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
    @Path("/v3/users/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> updateUser(@PathParam("id") String id, JsonNode body) {
        TokenFilter.admin(request, "identity:update_user");
        JsonNode u = Json.object(body, "user");
        Optional<Optional<String>> project = !u.has("default_project_id") ? Optional.empty()
                : Optional.of(u.get("default_project_id").isNull() ? Optional.empty() : defaultProject(u));
        Optional<Boolean> enabled = u.hasNonNull("enabled") ? Optional.of(Json.optionalBoolean(u, "enabled", true))
                : Optional.empty();
        return Map.of("user", user(store.updateUser(id, new IdentityStore.UserChange(Json.optionalString(u, "name", 64),
                Json.optionalString(u, "password", 4096), project, enabled))));
    }

    /** A user changes its own password, giving the old one (Keystone's {@code identity:change_password}). */
    @POST
    @Path("/v3/users/{id}/password")
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
    @Path("/v3/users/{id}")
    public Response deleteUser(@PathParam("id") String id) {
        TokenFilter.admin(request, "identity:delete_user");
        store.deleteUser(id);
        return Response.noContent().build();
    }

    @GET
    @Path("/v3/roles")
    public Map<String, Object> roles(@QueryParam("name") String name) {
        TokenFilter.caller(request);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String r : IdentityStore.roles().stream().sorted().toList()) {
            if (name == null || name.equals(r)) {
                out.add(roleBody(r));
            }
        }
        return Map.of("roles", out, "links", Map.of("self", base() + "/identity/v3/roles"));
    }

    @GET
    @Path("/v3/roles/{id}")
    public Map<String, Object> role(@PathParam("id") String id) {
        TokenFilter.caller(request);
        if (!IdentityStore.roles().contains(id)) {
            throw ApiException.notFound("Could not find role: " + id);
        }
        return Map.of("role", roleBody(id));
    }

    /** Stratus's roles are fixed (each means something to its policies): creating one that exists conflicts. */
    @POST
    @Path("/v3/roles")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createRole(JsonNode body) {
        TokenFilter.admin(request, "identity:create_role");
        String name = Json.string(Json.object(body, "role"), "name", 255);
        if (IdentityStore.roles().contains(name)) {
            throw ApiException.conflict("Duplicate entry found with name " + name + " at domain ID None.");
        }
        throw ApiException.forbidden("Stratus's roles are fixed: " + IdentityStore.roles().stream().sorted().toList());
    }

    @PUT
    @Path("/v3/projects/{project}/users/{user}/roles/{role}")
    public Response grant(@PathParam("project") String project, @PathParam("user") String user,
                          @PathParam("role") String role) {
        TokenFilter.admin(request, "identity:create_grant");
        Assignment g = assignment(project, user, role);
        store.assignRole(g.accountId(), g.projectId(), g.role());
        return Response.noContent().build();
    }

    @DELETE
    @Path("/v3/projects/{project}/users/{user}/roles/{role}")
    public Response revokeGrant(@PathParam("project") String project, @PathParam("user") String user,
                                @PathParam("role") String role) {
        TokenFilter.admin(request, "identity:revoke_grant");
        Assignment g = assignment(project, user, role);
        store.unassignRole(g.accountId(), g.projectId(), g.role());
        return Response.noContent().build();
    }

    @HEAD
    @Path("/v3/projects/{project}/users/{user}/roles/{role}")
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
    @Path("/v3/projects/{project}/users/{user}/roles")
    public Map<String, Object> grants(@PathParam("project") String project, @PathParam("user") String user) {
        TokenFilter.admin(request, "identity:list_grants");
        Project p = existingProject(project);
        Account a = existingUser(user);
        return Map.of("roles", store.roles(a.id(), p.id()).stream().sorted().map(this::roleBody).toList(),
                "links", Map.of("self", base() + "/identity/v3/projects/" + project + "/users/" + user + "/roles"));
    }

    /** Keystone's {@code GET /v3/role_assignments}, narrowed by {@code user.id} and {@code scope.project.id}. */
    @GET
    @Path("/v3/role_assignments")
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
                    "links", Map.of("assignment", base() + "/identity/v3/projects/" + a.projectId() + "/users/"
                            + a.accountId() + "/roles/" + a.role())));
        }
        return Map.of("role_assignments", out, "links", Map.of("self", base() + "/identity/v3/role_assignments"));
    }

    private record Assignment(String accountId, String projectId, String role) {
    }

    /** The project, user and role of an assignment path, each of which must exist (404 otherwise). */
    private Assignment assignment(String project, String user, String role) {
        Project p = existingProject(project);
        Account a = existingUser(user);
        if (!IdentityStore.roles().contains(role)) {
            throw ApiException.notFound("Could not find role: " + role);
        }
        return new Assignment(a.id(), p.id(), role);
    }

    private Project existingProject(String idOrName) {
        return store.project(idOrName).orElseThrow(() -> ApiException.notFound("Could not find project: " + idOrName));
    }

    private Account existingUser(String idOrName) {
        return store.account(idOrName).orElseThrow(() -> ApiException.notFound("Could not find user: " + idOrName));
    }

    @GET
    @Path("/v3/domains")
    public Map<String, Object> domains() {
        TokenFilter.caller(request);
        return Map.of("domains", List.of(domain()));
    }

    @GET
    @Path("/v3/domains/{id}")
    public Map<String, Object> domain(@PathParam("id") String id) {
        TokenFilter.caller(request);
        if (!id.equals("default") && !id.equals("Default")) {
            throw ApiException.notFound("Could not find domain: " + id + " (there is one, 'default')");
        }
        return Map.of("domain", domain());
    }

    private Map<String, Object> domain() {
        Map<String, Object> d = new LinkedHashMap<>(DOMAIN);
        d.put("enabled", true);
        d.put("description", "");
        d.put("links", Map.of("self", base() + "/identity/v3/domains/default"));
        return d;
    }

    /**
     * A token's time as Keystone writes it: microseconds, always six digits, UTC. Clients parse it
     * with that format (tempest's token parser refuses nine digits).
     */
    static String tokenTime(Instant t) {
        return TOKEN_TIME.format(t.truncatedTo(ChronoUnit.MICROS));
    }

    /** A token's body, the same whenever it is issued or validated; unscoped tokens have no project, roles or catalog. */
    private Map<String, Object> token(Token token) {
        Caller c = token.caller();
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("methods", token.methods());
        Map<String, Object> user = new LinkedHashMap<>();
        user.put("id", c.userId());
        user.put("name", c.userName());
        user.put("domain", DOMAIN);
        user.put("password_expires_at", null);
        t.put("user", user);
        t.put("issued_at", tokenTime(c.issuedAt()));
        t.put("expires_at", tokenTime(c.expiresAt()));
        t.put("audit_ids", token.auditIds());
        if (c.scoped()) {
            t.put("project", Map.of("id", c.projectId(), "name", c.projectName(), "domain", DOMAIN));
            t.put("roles", c.roles().stream().sorted().map(IdentityResource::roleRef).toList());
            t.put("is_domain", false);
            t.put("catalog", catalogEntries());
        }
        return t;
    }

    private List<Map<String, Object>> catalogEntries() {
        return List.of(
                service("compute", "nova", base() + "/compute/v2.1"),
                service("image", "glance", config.imageUrl()),
                service("network", "neutron", base() + "/network"),
                service("volumev3", "cinderv3", base() + "/volume/v3"),
                service("block-storage", "cinder", base() + "/volume/v3"),
                service("identity", "keystone", base() + "/identity/v3"));
    }

    private static Map<String, Object> service(String type, String name, String url) {
        List<Map<String, Object>> endpoints = new ArrayList<>();
        for (String iface : List.of("public", "internal", "admin")) {
            endpoints.add(Map.of("id", name + "-" + iface, "interface", iface, "region", "RegionOne",
                    "region_id", "RegionOne", "url", url));
        }
        return Map.of("id", name, "type", type, "name", name, "endpoints", endpoints);
    }

    private Map<String, Object> project(Project p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", p.id());
        m.put("name", p.name());
        m.put("description", p.description());
        m.put("domain_id", "default");
        m.put("enabled", true);
        m.put("is_domain", false);
        m.put("parent_id", "default");
        m.put("tags", List.of());
        m.put("options", Map.of());
        m.put("links", Map.of("self", base() + "/identity/v3/projects/" + p.id()));
        return m;
    }

    private Map<String, Object> user(Account a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", a.id());
        m.put("name", a.name());
        m.put("domain_id", "default");
        m.put("enabled", a.enabled());
        if (a.defaultProjectId() != null) {
            m.put("default_project_id", a.defaultProjectId());
        }
        m.put("password_expires_at", null);
        m.put("options", Map.of());
        m.put("links", Map.of("self", base() + "/identity/v3/users/" + a.id()));
        return m;
    }

    private Map<String, Object> roleBody(String name) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", name);
        m.put("name", name);
        m.put("domain_id", null);
        m.put("description", "");
        m.put("options", Map.of());
        m.put("links", Map.of("self", base() + "/identity/v3/roles/" + name));
        return m;
    }

    private static Map<String, Object> roleRef(String name) {
        return Map.of("id", name, "name", name);
    }

    private String base() {
        return config.publicUrl();
    }
}
