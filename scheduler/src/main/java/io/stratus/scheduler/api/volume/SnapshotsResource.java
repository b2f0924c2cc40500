package io.stratus.scheduler.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.scheduler.volume.Snapshot;
import io.stratus.scheduler.volume.SnapshotStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@code /volume/v3/snapshots}: Cinder's snapshots and their metadata. */
@Path(VolumeApi.ROOT + "/snapshots")
@Produces(MediaType.APPLICATION_JSON)
public class SnapshotsResource extends VolumeApi {
    private static final Set<String> FILTERS = Set.of("name", "status", "volume_id", "metadata");

    @Inject
    VolumeService service;
    @Inject
    SnapshotStore snapshots;

    @GET
    public Map<String, Object> list() {
        noEmptyId();
        return listing(false);
    }

    @GET
    @Path("/detail")
    public Map<String, Object> detail() {
        return listing(true);
    }

    private Map<String, Object> listing(boolean detail) {
        return VolumeListing.list("snapshots", snapshots.list(listedProject()).stream().map(s ->
                VolumeViews.snapshot(s, snapshots.metadata(s.id()), true)).toList(), FILTERS, row -> {
                    if (detail) {
                        return row;
                    }
                    Map<String, Object> m = new java.util.LinkedHashMap<>(row);
                    m.remove("os-extended-snapshot-attributes:progress");
                    m.remove("os-extended-snapshot-attributes:project_id");
                    return m;
                }, uri);
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        Snapshot s = visible(id);
        return Map.of("snapshot", VolumeViews.snapshot(s, snapshots.metadata(s.id()), true));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        JsonNode s = member(body, "snapshot");
        // Cinder looks the volume up whatever was given: none is a volume not found.
        String volumeId = text(s, "volume_id", 64).orElseThrow(() -> VolumeException.notFound("Volume", "None"));
        Volume v = service.visibleVolume(asker(), volumeId);
        Snapshot made = service.snapshot(asker(), v, text(s, "name", 255).or(() -> text(s, "display_name", 255))
                .orElse(null), text(s, "description", 255).or(() -> text(s, "display_description", 255))
                .orElse(null), metadata(s, "metadata"), bool(s, "force").orElse(false));
        return Response.status(202).entity(Map.of("snapshot", VolumeViews.snapshot(made,
                snapshots.metadata(made.id()), false))).build();
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Snapshot s = visible(id);
        JsonNode u = member(body, "snapshot");
        Optional<String> name = text(u, "name", 255).or(() -> text(u, "display_name", 255));
        Optional<String> description = text(u, "description", 255).or(() -> text(u, "display_description", 255));
        Snapshot changed = snapshots.update(s.id(), name, description);
        return Map.of("snapshot", VolumeViews.snapshot(changed, snapshots.metadata(s.id()), false));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        service.deleteSnapshot(visible(id));
        return Response.accepted().build();
    }

    @GET
    @Path("/{id}/metadata")
    public Map<String, Object> metadata(@PathParam("id") String id) {
        return Map.of("metadata", snapshots.metadata(visible(id).id()));
    }

    @POST
    @Path("/{id}/metadata")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> addMetadata(@PathParam("id") String id, JsonNode body) {
        return Map.of("metadata", snapshots.putMetadata(visible(id).id(), metadata(body, "metadata"), false));
    }

    @PUT
    @Path("/{id}/metadata")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> replaceMetadata(@PathParam("id") String id, JsonNode body) {
        return Map.of("metadata", snapshots.putMetadata(visible(id).id(), metadata(body, "metadata"), true));
    }

    @GET
    @Path("/{id}/metadata/{key}")
    public Map<String, Object> metadataItem(@PathParam("id") String id, @PathParam("key") String key) {
        return metaOf(snapshots.metadata(visible(id).id()), key, "Snapshot metadata with key");
    }

    @PUT
    @Path("/{id}/metadata/{key}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> putMetadataItem(@PathParam("id") String id, @PathParam("key") String key,
                                               JsonNode body) {
        Snapshot s = visible(id);
        Map<String, String> item = metadataItem(body, key);
        snapshots.putMetadata(s.id(), item, false);
        return Map.of("meta", item);
    }

    @DELETE
    @Path("/{id}/metadata/{key}")
    public Response deleteMetadataItem(@PathParam("id") String id, @PathParam("key") String key) {
        if (!snapshots.deleteMetadata(visible(id).id(), key)) {
            throw VolumeException.notFound("Snapshot metadata with key", key);
        }
        return Response.ok().build();
    }

    private Snapshot visible(String id) {
        return service.visibleSnapshot(asker(), id);
    }
}
