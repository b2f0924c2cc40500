package io.stratus.scheduler.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Cinder's v3 attachments API (microversion 3.27, {@code os-complete} 3.44), over the same
 * attachments the Compute API's {@code os-volume_attachments} makes: create reserves the volume
 * for an instance (and, given a connector, exports it for the connector's host at once), update
 * gives the connector and answers the connection info (the NBD export), complete marks it in
 * use, delete stops the export and frees the volume. As in Cinder, this API only keeps the
 * records and the connection: attaching the disk to a guest is the compute service's (Nova
 * calls these; Stratus's compute calls the volume service directly), so a Stratus server's own
 * attachment is detached through the Compute API, and deleting it here is refused while the
 * server has it (Cinder's check of bug 2004555).
 */
@Path(VolumeApi.ROOT + "/attachments")
@Produces(MediaType.APPLICATION_JSON)
public class AttachmentsResource extends VolumeApi {
    /** Cinder's NEW_ATTACH. */
    static final int NEW_ATTACH = 27;
    /** Cinder's NEW_ATTACH_COMPLETION. */
    static final int COMPLETION = 44;
    /** The attributes list filters may name (Cinder's allowed_filters for attachments). */
    private static final Set<String> FILTERS = Set.of("volume_id", "status", "instance_id", "attach_status");

    @Inject
    VolumeAttachments lives;
    @Inject
    AttachmentStore attachments;
    @Inject
    VolumeStore volumes;
    @Inject
    VolumeService service;
    @Inject
    ServerStore servers;

    @GET
    public Map<String, Object> list() {
        since(NEW_ATTACH);
        return listing(AttachmentsResource::summary);
    }

    @GET
    @Path("/detail")
    public Map<String, Object> detail() {
        since(NEW_ATTACH);
        return listing(AttachmentsResource::detailOnly);
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        since(NEW_ATTACH);
        return Map.of("attachment", detailOnly(view(visible(id))));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> create(JsonNode body) {
        since(NEW_ATTACH);
        JsonNode a = member(body, "attachment");
        String volumeId = text(a, "volume_uuid", 36).orElseThrow(() -> VolumeException.invalid(
                "Invalid input received: 'volume_uuid' is a required property."));
        // Cinder allows a reservation for no instance; here an attachment belongs to a consumer.
        String instance = text(a, "instance_uuid", 36).orElseThrow(() -> VolumeException.invalid(
                "Invalid input received: 'instance_uuid' is required: an attachment here is an instance's."));
        Optional<Connector> connector = connector(a);
        Volume v = service.visibleVolume(asker(), volumeId);
        if (v.status().apiName().startsWith("error")) {
            throw VolumeException.invalidVolume("Volume attachments can not be created if the volume is in an error"
                    + " state. The Volume " + v.id() + " currently has a status of: " + v.status().apiName() + " ");
        }
        Attachment made = lives.reserveForApi(v, instance);
        if (connector.isPresent()) {
            made = lives.connect(made, connector.get().host(), connector.get().mountpoint());
        }
        return Map.of("attachment", detailOnly(view(made)));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        since(NEW_ATTACH);
        Attachment a = visible(id);
        Connector c = connector(member(body, "attachment")).orElseThrow(() -> VolumeException.invalid(
                "Invalid input received: 'connector' is a required property."));
        return Map.of("attachment", detailOnly(view(lives.connect(a, c.host(), c.mountpoint()))));
    }

    @DELETE
    @Path("/{id}")
    public Map<String, Object> delete(@PathParam("id") String id) {
        since(NEW_ATTACH);
        Attachment a = visible(id);
        if (Attachment.ATTACHED.equals(a.status()) && servers.find(a.serverId()).isPresent()) {
            throw new VolumeException(VolumeException.Kind.CONFLICT, "Detach volume from instance " + a.serverId()
                    + " using the Compute API");
        }
        List<Map<String, Object>> left = lives.delete(a).stream().map(this::view).map(AttachmentsResource::summary)
                .toList();
        return Map.of("attachments", left);
    }

    @POST
    @Path("/{id}/action")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response action(@PathParam("id") String id, JsonNode body) {
        since(NEW_ATTACH);
        if (body == null || !body.has("os-complete")) {
            throw VolumeException.invalid("Invalid input received: there is no such action: " + (body == null ? ""
                    : String.join(", ", (Iterable<String>) body::fieldNames)));
        }
        since(COMPLETION);
        lives.complete(visible(id));
        return Response.noContent().build();
    }

    /** Cinder answers a method below its microversion as a version it cannot find (404). */
    private void since(int minor) {
        String asked = VolumeMicroversion.negotiated(request);
        if (VolumeMicroversion.minor(asked) < minor) {
            throw VolumeException.notFound("API version", asked + " of this method (it needs 3." + minor + ")");
        }
    }

    /** The attachment, when its volume is the caller's project's (or the caller an admin). */
    private Attachment visible(String id) {
        Attachment a = attachments.find(id).orElseThrow(() -> VolumeException.notFound("VolumeAttachment", id));
        Optional<Volume> v = volumes.find(a.volumeId());
        if (v.isEmpty() || !(caller().isAdmin() || v.get().projectId().equals(caller().projectId()))) {
            throw VolumeException.notFound("VolumeAttachment", id);
        }
        return a;
    }

    private Map<String, Object> listing(Function<Map<String, Object>, Map<String, Object>> shown) {
        List<Map<String, Object>> rows = attachments.ofProject(listedProject()).stream().map(this::view).toList();
        return VolumeListing.list("attachments", rows, FILTERS, shown, uri);
    }

    /** Every field of the detail, and those only filters and sorting read. */
    private Map<String, Object> view(Attachment a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", a.id());
        m.put("status", a.status());
        m.put("instance", a.serverId());
        m.put("volume_id", a.volumeId());
        m.put("attached_at", a.attachedAt() == null ? "" : VolumeViews.time(a.attachedAt()));
        m.put("detached_at", "");
        m.put("attach_mode", a.mode());
        Map<String, Object> connection = new LinkedHashMap<>();
        lives.connection(a).ifPresent(c -> {
            connection.put("driver_volume_type", "nbd");
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("uri", c.uri());
            data.put("host", c.host());
            data.put("port", c.port());
            data.put("export_name", c.exportName());
            data.put("access_mode", c.accessMode());
            data.put("volume_id", a.volumeId());
            data.put("attachment_id", a.id());
            connection.put("data", data);
            if (a.host() != null) {
                connection.put("host", a.host());
            }
        });
        m.put("connection_info", connection);
        // For filters and sorting only.
        m.put("instance_id", a.serverId());
        m.put("attach_status", a.status());
        m.put("created_at", VolumeViews.time(a.createdAt()));
        return m;
    }

    private static Map<String, Object> detailOnly(Map<String, Object> row) {
        Map<String, Object> m = new LinkedHashMap<>(row);
        m.remove("instance_id");
        m.remove("attach_status");
        m.remove("created_at");
        return m;
    }

    private static Map<String, Object> summary(Map<String, Object> row) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : List.of("id", "status", "instance", "volume_id")) {
            m.put(k, row.get(k));
        }
        return m;
    }

    /** What a connector says that matters here: the host the volume goes to, and its mountpoint. */
    private record Connector(String host, String mountpoint) {
    }

    private static Optional<Connector> connector(JsonNode attachment) {
        JsonNode c = attachment.get("connector");
        // cinderclient sends {} for no connector (Cinder reads an empty one as none).
        if (c == null || c.isNull() || (c.isObject() && c.isEmpty())) {
            return Optional.empty();
        }
        if (!c.isObject()) {
            throw VolumeException.invalid("Invalid input received: connector must be an object.");
        }
        String host = text(c, "host", 255).orElseThrow(() -> VolumeException.invalid(
                "Invalid input received: the connector names no host."));
        return Optional.of(new Connector(host, text(c, "mountpoint", 255).orElse(null)));
    }
}
