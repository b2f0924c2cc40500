package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
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

/**
 * {@code /compute/v2.1/images/{id}}: Nova's image proxy (deprecated from microversion 2.36, the
 * way clients of 2.1 follow an image made by {@code createImage}): an image of the image service
 * as Nova shows it, and its deletion. A project sees its own, public and community images.
 */
@Path("/compute/v2.1/images")
@Produces(MediaType.APPLICATION_JSON)
public class ImagesResource {
    @Inject
    ImageCatalog images;
    @Inject
    SchedulerConfig config;

    @Context
    ContainerRequestContext request;

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return Map.of("image", view(visible(id)));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        Caller caller = TokenFilter.caller(request);
        JsonNode image = visible(id);
        if (!caller.isAdmin() && !image.path("owner").asText().equals(caller.projectId())) {
            throw ApiException.forbidden("Image " + id + " is not yours to delete.");
        }
        if (image.path("protected").asBoolean(false)) {
            throw ApiException.forbidden("Image " + id + " is protected and cannot be deleted.");
        }
        images.delete(id);
        return Response.noContent().build();
    }

    private JsonNode visible(String id) {
        Caller caller = TokenFilter.caller(request);
        return images.record(id).filter(i -> caller.isAdmin() || i.path("owner").asText().equals(caller.projectId())
                        || List.of("public", "community").contains(i.path("visibility").asText()))
                .orElseThrow(() -> ApiException.notFound("Image not found."));
    }

    private Map<String, Object> view(JsonNode i) {
        String id = i.path("id").asText();
        String status = i.path("status").asText();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("name", i.path("name").isNull() ? null : i.path("name").asText());
        // Nova's image proxy: Glance's statuses in Nova's words, with a progress.
        m.put("status", switch (status) {
            case "active" -> "ACTIVE";
            case "queued", "saving", "uploading", "importing" -> "SAVING";
            case "killed" -> "ERROR";
            case "deleted", "pending_delete" -> "DELETED";
            default -> "UNKNOWN";
        });
        m.put("progress", switch (status) {
            case "active" -> 100;
            case "saving" -> 50;
            case "queued" -> 25;
            default -> 0;
        });
        m.put("created", i.path("created_at").asText());
        m.put("updated", i.path("updated_at").asText());
        m.put("minDisk", i.path("min_disk").asLong());
        m.put("minRam", i.path("min_ram").asLong());
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = i.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!ImageCatalog.coreField(f.getKey()) && f.getValue().isValueNode() && !f.getValue().isNull()) {
                metadata.put(f.getKey(), f.getValue().asText());
            }
        }
        m.put("metadata", metadata);
        m.put("OS-EXT-IMG-SIZE:size", i.path("size").isNumber() ? i.path("size").asLong() : null);
        String base = config.publicUrl();
        if (metadata.containsKey("instance_uuid")) {
            String server = (String) metadata.get("instance_uuid");
            m.put("server", Map.of("id", server, "links", List.of(
                    Map.of("rel", "self", "href", base + "/compute/v2.1/servers/" + server),
                    Map.of("rel", "bookmark", "href", base + "/compute/servers/" + server))));
        }
        m.put("links", List.of(Map.of("rel", "self", "href", base + "/compute/v2.1/images/" + id),
                Map.of("rel", "bookmark", "href", base + "/compute/images/" + id),
                Map.of("rel", "alternate", "type", "application/vnd.openstack.image",
                        "href", images.url() + "/v2/images/" + id)));
        return m;
    }
}
