package io.stratus.scheduler.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.volume.SnapshotStore;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeQuotaStore;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStore;
import io.stratus.scheduler.volume.VolumeTypeStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the Block Storage API says about itself and its projects: volume types, the availability
 * zone, extensions, quota sets and limits.
 */
@Path(VolumeApi.ROOT)
@Produces(MediaType.APPLICATION_JSON)
public class VolumeCatalogResource extends VolumeApi {
    private static final String UPDATED = "2013-04-18T00:00:00+00:00";
    /** The extensions a Cinder deployment lists that this service's answers carry. */
    private static final List<String[]> EXTENSIONS = List.of(
            new String[] {"os-availability-zone", "AvailabilityZones", "Describe Availability Zones."},
            new String[] {"os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
                    "Extended SnapshotAttributes support."},
            new String[] {"os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."},
            new String[] {"os-vol-tenant-attr", "VolumeTenantAttribute",
                    "Expose the internal project_id as an attribute of a volume."},
            new String[] {"os-vol-mig-status-attr", "VolumeMigStatusAttribute",
                    "Expose migration_status as an attribute of a volume."},
            new String[] {"os-volume-actions", "VolumeActions", "Enable volume actions."},
            new String[] {"os-admin-actions", "AdminActions", "Enable admin actions."},
            new String[] {"os-quota-sets", "Quotas", "Quota management support."},
            new String[] {"os-types-manage", "TypesManage", "Types manage support."},
            new String[] {"os-volume-image-metadata", "VolumeImageMetadata",
                    "Show image metadata associated with the volume."},
            new String[] {"os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."});

    @Inject
    VolumeTypeStore types;
    @Inject
    VolumeQuotaStore quotas;
    @Inject
    VolumeStore volumes;
    @Inject
    SnapshotStore snapshots;

    @GET
    @Path("/types")
    public Map<String, Object> types() {
        return Map.of("volume_types", types.list().stream().map(VolumeViews::type).toList());
    }

    @GET
    @Path("/types/default")
    public Map<String, Object> defaultType() {
        return Map.of("volume_type", VolumeViews.type(types.defaultType()));
    }

    @GET
    @Path("/types/{id}")
    public Map<String, Object> type(@PathParam("id") String id) {
        return Map.of("volume_type", VolumeViews.type(types.get(id)));
    }

    @GET
    @Path("/types/{id}/extra_specs")
    public Map<String, Object> extraSpecs(@PathParam("id") String id) {
        return Map.of("extra_specs", VolumeViews.type(types.get(id)).get("extra_specs"));
    }

    @GET
    @Path("/os-availability-zone")
    public Map<String, Object> zones() {
        return Map.of("availabilityZoneInfo", List.of(Map.of("zoneName", VolumeService.ZONE, "zoneState",
                Map.of("available", true))));
    }

    @GET
    @Path("/extensions")
    public Map<String, Object> extensions() {
        return Map.of("extensions", EXTENSIONS.stream().map(e -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("alias", e[0]);
            m.put("name", e[1]);
            m.put("description", e[2]);
            m.put("updated", UPDATED);
            m.put("links", List.of());
            return m;
        }).toList());
    }

    @GET
    @Path("/os-quota-sets/{project}")
    public Map<String, Object> quotaSet(@PathParam("project") String project, @QueryParam("usage") String usage) {
        Caller c = caller();
        if (!c.isAdmin() && !project.equals(c.projectId())) {
            throw new VolumeException(VolumeException.Kind.FORBIDDEN, "Policy doesn't allow showing another"
                    + " project's quotas.");
        }
        Map<String, Long> limits = quotas.limits(project);
        boolean withUsage = "true".equalsIgnoreCase(usage) || "1".equals(usage);
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("id", project);
        if (!withUsage) {
            q.putAll(limits);
            return Map.of("quota_set", q);
        }
        long[] vols = volumes.usage(project);
        long[] snaps = snapshots.usage(project);
        for (Map.Entry<String, Long> l : limits.entrySet()) {
            long used = switch (l.getKey()) {
                case "volumes" -> vols[0];
                case "gigabytes" -> vols[1] + snaps[1];
                case "snapshots" -> snaps[0];
                default -> 0;
            };
            q.put(l.getKey(), Map.of("limit", l.getValue(), "in_use", used, "reserved", 0, "allocated", 0));
        }
        return Map.of("quota_set", q);
    }

    @GET
    @Path("/os-quota-sets/{project}/defaults")
    public Map<String, Object> quotaDefaults(@PathParam("project") String project) {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("id", project);
        q.putAll(new java.util.TreeMap<>(VolumeQuotaStore.DEFAULTS));
        return Map.of("quota_set", q);
    }

    @PUT
    @Path("/os-quota-sets/{project}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> setQuota(@PathParam("project") String project, JsonNode body) {
        TokenFilter.admin(request, "volume_extension:quotas:update");
        JsonNode set = member(body, "quota_set");
        for (Iterator<Map.Entry<String, JsonNode>> it = set.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToLong() || e.getValue().asLong() < -1) {
                throw VolumeException.invalid("Invalid input received: quota value for " + e.getKey()
                        + " must be an integer of -1 or more.");
            }
            quotas.set(project, e.getKey(), e.getValue().asLong());
        }
        Map<String, Object> q = new LinkedHashMap<>(quotas.limits(project));
        return Map.of("quota_set", q);
    }

    @DELETE
    @Path("/os-quota-sets/{project}")
    public Response resetQuota(@PathParam("project") String project) {
        TokenFilter.admin(request, "volume_extension:quotas:delete");
        quotas.reset(project);
        return Response.ok().build();
    }

    @GET
    @Path("/limits")
    public Map<String, Object> limits() {
        String project = caller().projectId();
        Map<String, Long> l = quotas.limits(project);
        long[] vols = volumes.usage(project);
        long[] snaps = snapshots.usage(project);
        Map<String, Object> absolute = new LinkedHashMap<>();
        absolute.put("maxTotalVolumes", l.get("volumes"));
        absolute.put("maxTotalSnapshots", l.get("snapshots"));
        absolute.put("maxTotalVolumeGigabytes", l.get("gigabytes"));
        absolute.put("maxTotalBackups", l.get("backups"));
        absolute.put("maxTotalBackupGigabytes", l.get("backup_gigabytes"));
        absolute.put("totalVolumesUsed", vols[0]);
        absolute.put("totalSnapshotsUsed", snaps[0]);
        absolute.put("totalGigabytesUsed", vols[1] + snaps[1]);
        absolute.put("totalBackupsUsed", 0);
        absolute.put("totalBackupGigabytesUsed", 0);
        return Map.of("limits", Map.of("rate", List.of(), "absolute", absolute));
    }
}
