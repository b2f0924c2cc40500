package io.stratus.scheduler.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
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
 * The Identity API's bodies (tokens, projects, users, roles, the domain, the catalog) as Keystone
 * writes them, and the lookups its resources share: one place, so that a project reads the same
 * in a token, a listing and an assignment.
 */
@ApplicationScoped
public class IdentityViews {
    static final Map<String, Object> DOMAIN = Map.of("id", "default", "name", "Default");

    private static final DateTimeFormatter TOKEN_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Inject
    IdentityStore store;

    @Inject
    SchedulerConfig config;

    /**
     * A token's time as Keystone writes it: microseconds, always six digits, UTC. Clients parse it
     * with that format (tempest's token parser refuses nine digits).
     */
    static String tokenTime(Instant t) {
        return TOKEN_TIME.format(t.truncatedTo(ChronoUnit.MICROS));
    }

    String base() {
        return config.publicUrl();
    }

    /** A listing's {@code links}: its own address under the Identity API. */
    Map<String, Object> selfLink(String path) {
        return Map.of("self", base() + "/identity/v3/" + path);
    }

    /** A token's body, the same whenever it is issued or validated; unscoped tokens have no project, roles or catalog. */
    Map<String, Object> token(Token token) {
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
            t.put("roles", c.roles().stream().sorted().map(IdentityViews::roleRef).toList());
            t.put("is_domain", false);
            t.put("catalog", catalog());
        }
        return t;
    }

    List<Map<String, Object>> catalog() {
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

    Map<String, Object> domain() {
        Map<String, Object> d = new LinkedHashMap<>(DOMAIN);
        d.put("enabled", true);
        d.put("description", "");
        d.put("links", selfLink("domains/default"));
        return d;
    }

    Map<String, Object> project(Project p) {
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
        m.put("links", selfLink("projects/" + p.id()));
        return m;
    }

    /** The projects {@code accountId} has a role on. */
    List<Map<String, Object>> projectsOf(String accountId) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Project p : store.projects()) {
            if (!store.roles(accountId, p.id()).isEmpty()) {
                out.add(project(p));
            }
        }
        return out;
    }

    Map<String, Object> user(Account a) {
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
        m.put("links", selfLink("users/" + a.id()));
        return m;
    }

    Map<String, Object> role(String name) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", name);
        m.put("name", name);
        m.put("domain_id", null);
        m.put("description", "");
        m.put("options", Map.of());
        m.put("links", selfLink("roles/" + name));
        return m;
    }

    static Map<String, Object> roleRef(String name) {
        return Map.of("id", name, "name", name);
    }

    /** Stratus has the one domain, {@code default}: a request for another is refused, not silently moved. */
    static void defaultDomainOnly(JsonNode entity) {
        Optional<String> domain = Json.optionalString(entity, "domain_id", 64);
        if (domain.isPresent() && !domain.get().equals("default")) {
            throw ApiException.badRequest("domain " + domain.get() + " does not exist: Stratus has the one domain"
                    + " 'default'");
        }
    }

    Project existingProject(String idOrName) {
        return store.project(idOrName).orElseThrow(() -> ApiException.notFound("Could not find project: " + idOrName));
    }

    Account existingUser(String idOrName) {
        return store.account(idOrName).orElseThrow(() -> ApiException.notFound("Could not find user: " + idOrName));
    }
}
