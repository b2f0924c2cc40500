package io.stratus.scheduler.api.volume;

import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.Snapshot;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeType;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cinder's JSON for volumes, snapshots, types and attachments. A create's or update's answer has
 * fewer fields than a show's (no tenant, host or image metadata), as Cinder's do; clients that
 * check schemas refuse extra fields.
 */
final class VolumeViews {
    /** Cinder's own backend naming ({@code host@backend#pool}), which clients check the shape of. */
    static final String HOST = "stratus@pool#pool";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
            .withZone(ZoneOffset.UTC);

    private VolumeViews() {
    }

    static String time(Instant t) {
        return t == null ? null : TIME.format(t);
    }

    /**
     * @param detail a show's or list's fields (tenant, image metadata; the host for admins)
     */
    static Map<String, Object> volume(Volume v, String typeName, Map<String, String> metadata,
                                      Map<String, String> imageMetadata, List<Attachment> attachments, String base,
                                      boolean detail, boolean admin) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", v.id());
        m.put("name", v.name());
        m.put("description", v.description());
        m.put("size", v.sizeGb());
        m.put("status", v.status().apiName());
        m.put("availability_zone", v.availabilityZone());
        m.put("created_at", time(v.createdAt()));
        m.put("updated_at", time(v.updatedAt()));
        m.put("attachments", attachments.stream().filter(a -> Attachment.ATTACHED.equals(a.status()))
                .map(VolumeViews::volumeAttachment).toList());
        m.put("links", links(base + "/volumes/" + v.id()));
        m.put("encrypted", false);
        m.put("replication_status", null);
        m.put("snapshot_id", v.snapshotId());
        m.put("source_volid", v.sourceVolid());
        m.put("user_id", v.userId());
        m.put("metadata", metadata);
        m.put("bootable", Boolean.toString(v.bootable()));
        m.put("volume_type", typeName);
        m.put("multiattach", v.multiattach());
        m.put("consistencygroup_id", null);
        m.put("migration_status", null);
        if (detail) {
            m.put("os-vol-tenant-attr:tenant_id", v.projectId());
            if (!imageMetadata.isEmpty()) {
                m.put("volume_image_metadata", imageMetadata);
            }
            if (admin) {
                m.put("os-vol-host-attr:host", HOST);
                m.put("os-vol-mig-status-attr:migstat", null);
                m.put("os-vol-mig-status-attr:name_id", null);
            }
        }
        return m;
    }

    /** One server's use of a volume, as a volume lists it. */
    static Map<String, Object> volumeAttachment(Attachment a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", a.volumeId());
        m.put("attachment_id", a.id());
        m.put("volume_id", a.volumeId());
        m.put("server_id", a.serverId());
        m.put("host_name", a.host());
        m.put("device", a.device());
        m.put("attached_at", time(a.attachedAt()));
        return m;
    }

    /** Cinder's v3 attachment record. */
    static Map<String, Object> attachment(Attachment a, String volumeStatus) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", a.id());
        m.put("volume_id", a.volumeId());
        m.put("instance", a.serverId());
        m.put("status", a.status());
        m.put("attach_mode", a.mode());
        m.put("attached_at", time(a.attachedAt()));
        m.put("detached_at", null);
        m.put("connection_info", Map.of("driver_volume_type", "nbd"));
        return m;
    }

    static Map<String, Object> snapshot(Snapshot s, Map<String, String> metadata, boolean detail) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("description", s.description());
        m.put("volume_id", s.volumeId());
        m.put("status", s.status());
        m.put("size", s.sizeGb());
        m.put("metadata", metadata);
        m.put("created_at", time(s.createdAt()));
        m.put("updated_at", time(s.updatedAt()));
        if (detail) {
            m.put("os-extended-snapshot-attributes:progress", Snapshot.AVAILABLE.equals(s.status()) ? "100%" : "0%");
            m.put("os-extended-snapshot-attributes:project_id", s.projectId());
        }
        return m;
    }

    static Map<String, Object> type(VolumeType t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.id());
        m.put("name", t.name());
        m.put("description", t.description());
        m.put("is_public", t.isPublic());
        m.put("os-volume-type-access:is_public", t.isPublic());
        m.put("extra_specs", t.multiattach() ? Map.of("multiattach", "<is> True") : Map.of());
        m.put("qos_specs_id", null);
        return m;
    }

    static List<Map<String, Object>> links(String href) {
        return List.of(Map.of("href", href, "rel", "self"), Map.of("href", href, "rel", "bookmark"));
    }
}
