package io.stratus.scheduler.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStatus;
import io.stratus.scheduler.volume.VolumeStore;
import io.stratus.scheduler.volume.VolumeType;
import io.stratus.scheduler.volume.VolumeTypeStore;
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
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code /volume/v3/volumes}: Cinder's volumes, their actions and metadata. A create answers 202
 * with the volume in {@code creating}; the data is made on the volume service's worker.
 */
@Path(VolumeApi.ROOT + "/volumes")
@Produces(MediaType.APPLICATION_JSON)
public class VolumesResource extends VolumeApi {
    /** The attributes list filters may name (Cinder's resource_filters for volumes). */
    private static final Set<String> FILTERS = Set.of("name", "status", "metadata", "bootable", "availability_zone",
            "size", "volume_type", "user_id", "migration_status", "group_id");

    @Inject
    VolumeService service;
    @Inject
    VolumeStore volumes;
    @Inject
    VolumeTypeStore types;
    @Inject
    AttachmentStore attachments;

    @GET
    public Map<String, Object> list() {
        noEmptyId();
        return listing(VolumeListing::summary);
    }

    /** {@code PUT /volumes/} and {@code DELETE /volumes/}: an empty volume id, which is not found. */
    @PUT
    public Response updateNone() {
        throw VolumeException.notFound("Volume", "''");
    }

    @DELETE
    public Response deleteNone() {
        throw VolumeException.notFound("Volume", "''");
    }

    @GET
    @Path("/detail")
    public Map<String, Object> detail() {
        return listing(Function.identity());
    }

    private Map<String, Object> listing(Function<Map<String, Object>, Map<String, Object>> shown) {
        String project = listedProject();
        Map<String, Map<String, String>> metadata = volumes.metadataOf(project);
        Map<String, String> typeNames = types.list().stream().collect(Collectors.toMap(VolumeType::id,
                VolumeType::name));
        List<Map<String, Object>> rows = volumes.list(project).stream().map(v -> view(v, typeNames.get(v.typeId()),
                metadata.getOrDefault(v.id(), Map.of()), true)).toList();
        return VolumeListing.list("volumes", rows, FILTERS, shown, uri);
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return Map.of("volume", view(visible(id), true));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        JsonNode v = member(body, "volume");
        Optional<String> image = text(v, "imageRef", 255).or(() -> text(v, "image_id", 255));
        VolumeService.Create c = new VolumeService.Create(size(v, "size"),
                text(v, "name", 255).or(() -> text(v, "display_name", 255)).orElse(null),
                text(v, "description", 255).or(() -> text(v, "display_description", 255)).orElse(null),
                text(v, "volume_type", 255), text(v, "availability_zone", 255), text(v, "source_volid", 64),
                text(v, "snapshot_id", 64), image, metadata(v, "metadata"), bool(v, "multiattach").orElse(false));
        if (c.sizeGb().isEmpty() && c.sourceVolid().isEmpty() && c.snapshotId().isEmpty() && image.isEmpty()) {
            throw VolumeException.invalid("Invalid input received: size is required for a volume with no source.");
        }
        Volume made = service.create(asker(), c);
        return Response.status(202).entity(Map.of("volume", view(made, false))).build();
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Volume v = visible(id);
        JsonNode u = member(body, "volume");
        Optional<String> name = text(u, "name", 255).or(() -> text(u, "display_name", 255));
        Optional<String> description = text(u, "description", 255).or(() -> text(u, "display_description", 255));
        Volume changed = volumes.update(v.id(), name, description);
        if (u.has("metadata")) {
            volumes.putMetadata(v.id(), metadata(u, "metadata"), true);
        }
        return Map.of("volume", view(changed, false));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        service.delete(visible(id));
        return Response.accepted().build();
    }

    @POST
    @Path("/{id}/action")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response action(@PathParam("id") String id, JsonNode body) {
        Volume v = visible(id);
        if (body == null || !body.isObject() || body.size() != 1) {
            throw VolumeException.invalid("Invalid input received: an action body names one action.");
        }
        String action = body.fieldNames().next();
        JsonNode a = body.get(action);
        switch (action) {
            case "os-extend" -> {
                service.extend(v, size(a, "new_size").orElseThrow(() -> VolumeException.invalid(
                        "Invalid input received: os-extend needs new_size.")));
                return Response.accepted().build();
            }
            case "os-update_readonly_flag" -> {
                boolean readOnly = bool(a, "readonly").orElseThrow(() -> VolumeException.invalid(
                        "Invalid input received: os-update_readonly_flag needs readonly."));
                if (v.status() != VolumeStatus.AVAILABLE && v.status() != VolumeStatus.IN_USE) {
                    throw VolumeException.invalidVolume("Volume " + v.id() + " status must be available or in-use,"
                            + " but the current status is: " + v.status().apiName() + ".");
                }
                volumes.setReadOnly(v.id(), readOnly);
                return Response.accepted().build();
            }
            case "os-set_bootable" -> {
                volumes.setBootable(v.id(), bool(a, "bootable").orElseThrow(() -> VolumeException.invalid(
                        "Invalid input received: os-set_bootable needs bootable.")));
                return Response.ok().build();
            }
            case "os-volume_upload_image" -> {
                return Response.accepted().entity(Map.of("os-volume_upload_image", upload(v, a))).build();
            }
            case "os-reset_status" -> {
                TokenFilter.admin(request, "volume_extension:volume_admin_actions:reset_status");
                String status = text(a, "status", 32).orElseThrow(() -> VolumeException.invalid(
                        "Invalid input received: os-reset_status needs status."));
                VolumeStatus next = VolumeStatus.ofApiName(status).orElseThrow(() -> VolumeException.invalid(
                        "Invalid input received: unknown status " + status + "."));
                volumes.tryTransition(v.id(), EnumSet.allOf(VolumeStatus.class), next);
                return Response.accepted().build();
            }
            case "os-force_delete" -> {
                TokenFilter.admin(request, "volume_extension:volume_admin_actions:force_delete");
                volumes.tryTransition(v.id(), EnumSet.allOf(VolumeStatus.class), VolumeStatus.ERROR);
                service.delete(volumes.get(v.id()));
                return Response.accepted().build();
            }
            default -> throw VolumeException.invalid("Invalid input received: there is no volume action " + action
                    + ".");
        }
    }

    private Map<String, Object> upload(Volume v, JsonNode a) {
        if (a == null || !a.isObject()) {
            throw VolumeException.invalid("Invalid input received: os-volume_upload_image needs an object.");
        }
        String imageName = text(a, "image_name", 255).orElseThrow(() -> VolumeException.invalid(
                "Invalid input received: os-volume_upload_image needs image_name."));
        String diskFormat = text(a, "disk_format", 32).orElse("raw");
        String containerFormat = text(a, "container_format", 32).orElse("bare");
        boolean force = bool(a, "force").orElse(false);
        Map<String, Object> extra = new LinkedHashMap<>();
        text(a, "visibility", 16).ifPresent(vis -> extra.put("visibility", vis));
        bool(a, "protected").ifPresent(p -> extra.put("protected", p));
        String imageId = service.upload(asker(), v, imageName, diskFormat, containerFormat, force, extra);
        Volume now = volumes.get(v.id());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", v.id());
        m.put("updated_at", VolumeViews.time(now.updatedAt()));
        m.put("status", now.status().apiName());
        m.put("display_description", v.description());
        m.put("size", v.sizeGb());
        m.put("volume_type", VolumeViews.type(types.get(v.typeId())));
        m.put("image_id", imageId);
        m.put("container_format", containerFormat);
        m.put("disk_format", diskFormat);
        m.put("image_name", imageName);
        m.put("visibility", extra.getOrDefault("visibility", "private"));
        m.put("protected", extra.getOrDefault("protected", false));
        return m;
    }

    @GET
    @Path("/{id}/metadata")
    public Map<String, Object> metadata(@PathParam("id") String id) {
        return Map.of("metadata", volumes.metadata(visible(id).id()));
    }

    @POST
    @Path("/{id}/metadata")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> addMetadata(@PathParam("id") String id, JsonNode body) {
        Volume v = visible(id);
        return Map.of("metadata", volumes.putMetadata(v.id(), metadata(requireObject(body), "metadata"), false));
    }

    @PUT
    @Path("/{id}/metadata")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> replaceMetadata(@PathParam("id") String id, JsonNode body) {
        Volume v = visible(id);
        return Map.of("metadata", volumes.putMetadata(v.id(), metadata(requireObject(body), "metadata"), true));
    }

    @GET
    @Path("/{id}/metadata/{key}")
    public Map<String, Object> metadataItem(@PathParam("id") String id, @PathParam("key") String key) {
        return metaOf(volumes.metadata(visible(id).id()), key, "Volume metadata with key");
    }

    @PUT
    @Path("/{id}/metadata/{key}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> putMetadataItem(@PathParam("id") String id, @PathParam("key") String key,
                                               JsonNode body) {
        Volume v = visible(id);
        Map<String, String> item = metadataItem(requireObject(body), key);
        volumes.putMetadata(v.id(), item, false);
        return Map.of("meta", item);
    }

    @DELETE
    @Path("/{id}/metadata/{key}")
    public Response deleteMetadataItem(@PathParam("id") String id, @PathParam("key") String key) {
        if (!volumes.deleteMetadata(visible(id).id(), key)) {
            throw VolumeException.notFound("Volume metadata with key", key);
        }
        return Response.ok().build();
    }

    private static JsonNode requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw VolumeException.invalid("Invalid input received: the request body must be an object.");
        }
        return body;
    }

    private Volume visible(String id) {
        return service.visibleVolume(asker(), id);
    }

    private Map<String, Object> view(Volume v, boolean detail) {
        return view(v, types.find(v.typeId()).map(VolumeType::name).orElse(null), volumes.metadata(v.id()), detail);
    }

    private Map<String, Object> view(Volume v, String typeName, Map<String, String> metadata, boolean detail) {
        Map<String, String> shown = metadata;
        if (detail && v.readOnly() != null) {
            // Cinder shows its admin metadata's readonly flag among the metadata.
            shown = new LinkedHashMap<>(metadata);
            shown.put("readonly", v.isReadOnly() ? "True" : "False");
        }
        return VolumeViews.volume(v, typeName, shown, detail ? volumes.imageMetadata(v.id()) : Map.of(),
                attachments.ofVolume(v.id()), base(), detail, caller().isAdmin());
    }
}
