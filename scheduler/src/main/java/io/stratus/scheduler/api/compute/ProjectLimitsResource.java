package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.HostNotes;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.ServerGroup;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.identity.IdentityStore;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What a project may use and how it groups servers: {@code limits}, {@code os-quota-sets} (admins
 * set them), {@code os-server-groups} and {@code os-availability-zone}.
 */
@Path("/compute/v2.1")
@Produces(MediaType.APPLICATION_JSON)
public class ProjectLimitsResource {
    @Inject
    QuotaStore quotas;
    @Inject
    ServerStore servers;
    @Inject
    ServerGroupStore groups;
    @Inject
    IdentityStore identity;
    @Inject
    PlacementStore placement;
    @Inject
    Conductor conductor;
    @Inject
    HostDirectory hosts;
    @Inject
    HostNotes notes;
    @Context
    ContainerRequestContext request;

    @GET
    @Path("/limits")
    public Map<String, Object> limits() {
        Caller c = TokenFilter.caller(request);
        Map<String, Long> q = quotas.limits(c.projectId());
        ServerStore.Usage used = servers.usage(c.projectId());
        Map<String, Object> absolute = new LinkedHashMap<>();
        absolute.put("maxTotalInstances", q.get("instances"));
        absolute.put("maxTotalCores", q.get("cores"));
        absolute.put("maxTotalRAMSize", q.get("ram"));
        absolute.put("maxServerMeta", q.get("metadata_items"));
        absolute.put("maxImageMeta", 128);
        absolute.put("maxPersonality", 5);
        absolute.put("maxPersonalitySize", 10240);
        absolute.put("maxTotalKeypairs", q.get("key_pairs"));
        absolute.put("maxServerGroups", 10);
        absolute.put("maxServerGroupMembers", 10);
        absolute.put("maxSecurityGroups", -1);
        absolute.put("maxSecurityGroupRules", -1);
        absolute.put("maxTotalFloatingIps", -1);
        absolute.put("totalInstancesUsed", used.instances());
        absolute.put("totalCoresUsed", used.cores());
        absolute.put("totalRAMUsed", used.ramMib());
        absolute.put("totalServerGroupsUsed", groups.list(Optional.of(c.projectId())).size());
        absolute.put("totalSecurityGroupsUsed", 0);
        absolute.put("totalFloatingIpsUsed", 0);
        return Map.of("limits", Map.of("rate", List.of(), "absolute", absolute));
    }

    @GET
    @Path("/os-quota-sets/{project}")
    public Map<String, Object> quota(@PathParam("project") String project) {
        String id = visibleProject(project);
        return Map.of("quota_set", quotaSet(id, quotas.limits(id)));
    }

    @GET
    @Path("/os-quota-sets/{project}/defaults")
    public Map<String, Object> defaults(@PathParam("project") String project) {
        return Map.of("quota_set", quotaSet(visibleProject(project), quotas.defaults()));
    }

    @PUT
    @Path("/os-quota-sets/{project}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> setQuota(@PathParam("project") String project, JsonNode body) {
        TokenFilter.admin(request, "os_compute_api:os-quota-sets:update");
        String id = identity.project(project).orElseThrow(() ->
                ApiException.notFound("Project " + project + " could not be found.")).id();
        JsonNode set = Json.object(body, "quota_set");
        for (Iterator<String> it = set.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (name.equals("force") || name.equals("id")) {
                continue;
            }
            if (!QuotaStore.RESOURCES.contains(name)) {
                throw ApiException.badRequest("quota '" + name + "' is not supported; quotas are " + QuotaStore.RESOURCES);
            }
            quotas.set(id, name, Json.integer(set, name, -1, Integer.MAX_VALUE));
        }
        Map<String, Object> out = quotaSet(id, quotas.limits(id));
        out.remove("id");
        return Map.of("quota_set", out);
    }

    private String visibleProject(String project) {
        Caller c = TokenFilter.caller(request);
        if (c.isAdmin()) {
            return identity.project(project).orElseThrow(() ->
                    ApiException.notFound("Project " + project + " could not be found.")).id();
        }
        if (!project.equals(c.projectId()) && !project.equals(c.projectName())) {
            throw ApiException.forbidden("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed"
                    + " on another project.");
        }
        return c.projectId();
    }

    private static Map<String, Object> quotaSet(String projectId, Map<String, Long> limits) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", projectId);
        m.put("instances", limits.get("instances"));
        m.put("cores", limits.get("cores"));
        m.put("ram", limits.get("ram"));
        m.put("key_pairs", limits.get("key_pairs"));
        m.put("metadata_items", limits.get("metadata_items"));
        m.put("server_groups", 10);
        m.put("server_group_members", 10);
        m.put("injected_files", 5);
        m.put("injected_file_content_bytes", 10240);
        m.put("injected_file_path_bytes", 255);
        m.put("fixed_ips", -1);
        m.put("floating_ips", -1);
        m.put("security_groups", -1);
        m.put("security_group_rules", -1);
        return m;
    }

    @GET
    @Path("/os-server-groups")
    public Map<String, Object> serverGroups() {
        Caller c = TokenFilter.caller(request);
        return Map.of("server_groups", groups.list(Optional.of(c.projectId())).stream().map(this::group).toList());
    }

    @GET
    @Path("/os-server-groups/{id}")
    public Map<String, Object> serverGroup(@PathParam("id") String id) {
        return Map.of("server_group", group(ownedGroup(id)));
    }

    @POST
    @Path("/os-server-groups")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> createGroup(JsonNode body) {
        Caller c = TokenFilter.caller(request);
        JsonNode g = Json.object(body, "server_group");
        JsonNode policies = g.get("policies");
        if (policies == null || !policies.isArray() || policies.size() != 1 || !policies.get(0).isTextual()) {
            throw ApiException.badRequest("'policies' must list exactly one of affinity, anti-affinity");
        }
        ServerGroup created;
        try {
            created = new ServerGroup(UUID.randomUUID().toString(), Json.string(g, "name", 255), c.projectId(),
                    ServerGroup.policy(policies.get(0).asText()));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        groups.create(created);
        return Map.of("server_group", group(created));
    }

    @DELETE
    @Path("/os-server-groups/{id}")
    public Response deleteGroup(@PathParam("id") String id) {
        groups.delete(ownedGroup(id).id());
        return Response.noContent().build();
    }

    private ServerGroup ownedGroup(String id) {
        Caller c = TokenFilter.caller(request);
        return groups.find(id).filter(g -> c.isAdmin() || g.projectId().equals(c.projectId()))
                .orElseThrow(() -> ApiException.notFound("Server group " + id + " could not be found."));
    }

    private Map<String, Object> group(ServerGroup g) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", g.id());
        m.put("name", g.name());
        m.put("policies", List.of(g.policyName()));
        m.put("members", servers.membersOf(g.id()));
        m.put("metadata", Map.of());
        m.put("project_id", g.projectId());
        return m;
    }

    @GET
    @Path("/os-availability-zone")
    public Map<String, Object> zones() {
        TokenFilter.caller(request);
        Map<String, Object> zone = new LinkedHashMap<>();
        zone.put("zoneName", Conductor.DEFAULT_ZONE);
        zone.put("zoneState", Map.of("available", true));
        zone.put("hosts", null);
        return Map.of("availabilityZoneInfo", List.of(zone));
    }

    /** The zone with its hosts and their compute service (admin). */
    @GET
    @Path("/os-availability-zone/detail")
    public Map<String, Object> zoneDetails() {
        TokenFilter.admin(request, "os_compute_api:os-availability-zone:detail");
        Map<String, Object> hostMap = new LinkedHashMap<>();
        for (ProviderUsage p : placement.all()) {
            Map<String, Object> svc = new LinkedHashMap<>();
            boolean enabled = !hosts.service(p, notes.reason(p.name())).disabled();
            svc.put("available", enabled && conductor.hostUp(p.name()));
            svc.put("active", enabled);
            svc.put("updated_at", null);
            hostMap.put(p.name(), Map.of("nova-compute", svc));
        }
        Map<String, Object> zone = new LinkedHashMap<>();
        zone.put("zoneName", Conductor.DEFAULT_ZONE);
        zone.put("zoneState", Map.of("available", true));
        zone.put("hosts", hostMap);
        return Map.of("availabilityZoneInfo", List.of(zone));
    }

    /** Host aggregates: Stratus has none (every host is in the one zone); clients list them. */
    @GET
    @Path("/os-aggregates")
    public Map<String, Object> aggregates() {
        TokenFilter.admin(request, "os_compute_api:os-aggregates:index");
        return Map.of("aggregates", List.of());
    }
}
