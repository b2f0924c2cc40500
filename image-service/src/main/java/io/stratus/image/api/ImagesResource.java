package io.stratus.image.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.image.auth.Caller;
import io.stratus.image.auth.TokenFilter;
import io.stratus.image.blob.BlobStore;
import io.stratus.image.config.ImageServiceConfig;
import io.stratus.image.store.Image;
import io.stratus.image.store.ImageStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.PathPart;

/**
 * The Image API v2 subset clients use: create, download
 * (streamed, one HTTP range), list with filters, show, delete; uploads are {@link UploadRoute}'s.
 * A project sees its own, public and community images; only admins publish.
 */
@Path("/image")
@Produces(MediaType.APPLICATION_JSON)
public class ImagesResource {
    private static final Logger LOG = Logger.getLogger(ImagesResource.class);
    /** Glance's defaults (glance-api.conf disk_formats, container_formats): clients and tempest use them. */
    private static final Set<String> DISK_FORMATS = Set.of("raw", "qcow2", "aki", "ari", "ami", "vhd", "vhdx",
            "vmdk", "vdi", "iso", "ploop");
    private static final Set<String> CONTAINER_FORMATS = Set.of("bare", "aki", "ari", "ami", "ovf", "ova", "docker",
            "compressed");
    private static final Set<String> VISIBILITIES = Set.of("private", "shared", "community", "public");
    private static final Set<String> CORE = Set.of("id", "name", "disk_format", "container_format", "visibility",
            "min_ram", "min_disk", "protected", "tags");
    private static final int MAX_PROPERTIES = 128;

    @Inject
    ImageStore images;
    @Inject
    BlobStore blobs;
    @Inject
    ImageServiceConfig config;
    @Inject
    Clock clock;
    @Context
    ContainerRequestContext request;

    @GET
    public Response versions() {
        return Response.status(300).entity(versionList()).build();
    }

    @GET
    @Path("/versions")
    public Map<String, Object> versionList() {
        return Map.of("versions", List.of(Map.of("id", "v2.9", "status", "CURRENT",
                "links", List.of(Map.of("rel", "self", "href", config.publicUrl() + "/image/v2/")))));
    }

    @GET
    @Path("/v2/images")
    public Map<String, Object> list(@QueryParam("name") String name, @QueryParam("status") String status,
                                    @QueryParam("visibility") String visibility, @QueryParam("owner") String owner,
                                    @QueryParam("limit") Integer limit, @QueryParam("marker") String marker) {
        Caller c = TokenFilter.caller(request);
        if (limit != null && limit < 0) {
            throw ApiException.badRequest("limit must be 0 or more, not " + limit);
        }
        List<Image> found = new ArrayList<>();
        for (Image i : images.all()) {
            boolean visible = c.readsAll() || i.visibleTo(c.projectId());
            if (visible && (name == null || i.name().equals(name)) && (status == null || i.status().equals(status))
                    && (owner == null || i.owner().equals(owner))
                    && (visibility == null || visibility.equals("all") || i.visibility().equals(visibility))) {
                found.add(i);
            }
        }
        if (marker != null) {
            int at = -1;
            for (int k = 0; k < found.size() && at < 0; k++) {
                at = found.get(k).id().equals(marker) ? k : -1;
            }
            if (at < 0) {
                throw ApiException.badRequest("marker " + marker + " is not an image of this listing");
            }
            found = found.subList(at + 1, found.size());
        }
        if (limit != null && limit < found.size()) {
            found = found.subList(0, limit);
        }
        return Map.of("images", found.stream().map(this::view).toList(), "first", "/v2/images",
                "schema", "/v2/schemas/images");
    }

    @GET
    @Path("/v2/images/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return view(visible(id));
    }

    @POST
    @Path("/v2/images")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller c = TokenFilter.caller(request);
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("the request body must be a JSON object of image fields");
        }
        String visibility = Json.optionalString(body, "visibility", 16).orElse("private");
        if (!VISIBILITIES.contains(visibility)) {
            throw ApiException.badRequest("Invalid visibility '" + visibility + "': use one of " + VISIBILITIES);
        }
        visibility = visibility.equals("shared") ? "private" : visibility;
        if (visibility.equals("public") && !c.isAdmin()) {
            throw ApiException.forbidden("Only admins may publish images (visibility public).");
        }
        String diskFormat = Json.optionalString(body, "disk_format", 16).orElse("raw");
        if (!DISK_FORMATS.contains(diskFormat)) {
            throw ApiException.badRequest("Invalid disk format '" + diskFormat + "': use one of " + DISK_FORMATS);
        }
        String containerFormat = Json.optionalString(body, "container_format", 16).orElse("bare");
        if (!CONTAINER_FORMATS.contains(containerFormat)) {
            throw ApiException.badRequest("Invalid container format '" + containerFormat + "': use one of "
                    + CONTAINER_FORMATS);
        }
        String id = Json.optionalString(body, "id", 36).orElse(UUID.randomUUID().toString());
        if (!id.matches("[A-Za-z0-9][A-Za-z0-9-]{0,35}")) {
            throw ApiException.badRequest("an image id is a UUID (letters, digits and '-')");
        }
        Map<String, String> properties = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (CORE.contains(f.getKey()) || f.getValue().isNull()) {
                continue;
            }
            if (!f.getValue().isValueNode() || f.getKey().length() > 255 || f.getValue().asText().length() > 255) {
                throw ApiException.badRequest("image property '" + f.getKey() + "' must be a string of at most 255"
                        + " characters");
            }
            properties.put(f.getKey(), f.getValue().asText());
        }
        if (properties.size() > MAX_PROPERTIES) {
            throw new ApiException(413, "an image takes at most " + MAX_PROPERTIES + " properties");
        }
        for (String ref : List.of("kernel_id", "ramdisk_id")) {
            if (properties.containsKey(ref)) {
                visible(properties.get(ref));
            }
        }
        Instant now = clock.instant();
        Image image = new Image(id, Json.optionalString(body, "name", 255).orElse(""), c.projectId(), visibility,
                "queued", diskFormat, containerFormat, Optional.empty(), Optional.empty(),
                Json.optionalInteger(body, "min_ram", 0, 1L << 40, 0), Json.optionalInteger(body, "min_disk", 0,
                1L << 30, 0), Json.optionalBoolean(body, "protected", false), false, properties, List.of(), now, now);
        try {
            images.insert(image);
        } catch (io.stratus.database.Sql.SqlException e) {
            if (e.duplicate()) {
                throw ApiException.conflict("Image with identifier " + id + " already exists!");
            }
            throw e;
        }
        LOG.infof("image %s (%s) created by project %s", id, image.name(), c.projectId());
        return Response.status(201).entity(view(image)).build();
    }

    /** The data, streamed; one byte range when asked ({@code 206}), {@code 416} for a bad range. */
    @GET
    @Path("/v2/images/{id}/file")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response download(@PathParam("id") String id, @HeaderParam("Range") String range) {
        Image image = visible(id);
        if (!image.status().equals("active") || image.sha256().isEmpty()) {
            return Response.noContent().build();
        }
        java.nio.file.Path file = blobs.file(image.sha256().get());
        long size = image.size().orElse(0L);
        Optional<ByteRange> r;
        try {
            r = ByteRange.parse(range, size);
        } catch (ByteRange.UnsatisfiableException e) {
            return Response.status(416).header("Content-Range", "bytes */" + size).type(MediaType.APPLICATION_JSON)
                    .entity(Map.of("requestedRangeNotSatisfiable", Map.of("code", 416, "message", e.getMessage())))
                    .build();
        }
        long first = r.map(ByteRange::first).orElse(0L);
        long count = r.map(ByteRange::length).orElse(size);
        // Sent from the file by the HTTP layer (sendfile), at the pace the client reads: nothing
        // of the image passes through the heap or piles up in buffers.
        Response.ResponseBuilder b = Response.status(r.isPresent() ? 206 : 200).entity(new PathPart(file, first, count))
                .header("Content-Length", count).header("Accept-Ranges", "bytes")
                .header("Content-Type", MediaType.APPLICATION_OCTET_STREAM)
                .header("X-Image-Meta-Sha256", image.sha256().get());
        r.ifPresent(x -> b.header("Content-Range", "bytes " + x.first() + "-" + x.last() + "/" + size));
        return b.build();
    }

    @DELETE
    @Path("/v2/images/{id}")
    public Response delete(@PathParam("id") String id) throws IOException {
        Caller c = TokenFilter.caller(request);
        Image image = visible(id);
        if (!c.isAdmin() && !image.owner().equals(c.projectId())) {
            throw ApiException.forbidden("You are not permitted to delete image " + id);
        }
        if (image.isProtected()) {
            throw ApiException.forbidden("Image " + id + " is protected and cannot be deleted.");
        }
        if (images.markDeleted(id) && image.sha256().isPresent() && !images.referenced(image.sha256().get())) {
            blobs.delete(image.sha256().get());
        }
        return Response.noContent().build();
    }

    private Image visible(String id) {
        Caller c = TokenFilter.caller(request);
        return images.find(id).filter(i -> c.readsAll() || i.visibleTo(c.projectId()))
                .orElseThrow(() -> ApiException.notFound("No image found with ID " + id));
    }

    private Map<String, Object> view(Image i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("name", i.name());
        m.put("status", i.status());
        m.put("visibility", i.visibility());
        m.put("owner", i.owner());
        m.put("disk_format", i.diskFormat());
        m.put("container_format", i.containerFormat());
        m.put("size", i.size().orElse(null));
        m.put("virtual_size", null);
        m.put("checksum", null);
        m.put("os_hash_algo", i.sha256().isPresent() ? "sha256" : null);
        m.put("os_hash_value", i.sha256().orElse(null));
        m.put("min_ram", i.minRamMib());
        m.put("min_disk", i.minDiskGib());
        m.put("protected", i.isProtected());
        m.put("os_hidden", i.hidden());
        m.put("tags", i.tags());
        i.properties().forEach(m::putIfAbsent);
        m.put("created_at", i.createdAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("updated_at", i.updatedAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("self", "/v2/images/" + i.id());
        m.put("file", "/v2/images/" + i.id() + "/file");
        m.put("schema", "/v2/schemas/image");
        return m;
    }
}
