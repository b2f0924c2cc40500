package io.stratus.scheduler.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.scheduler.identity.Caller;
import io.stratus.scheduler.identity.TokenFilter;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
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
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * The Image API v2 subset the clients use to register and find images: create, upload (streamed
 * to a temporary file, sha256 and size computed on the way, renamed into place only when
 * complete), download, list with filters, show and delete. A project sees its own and public
 * images; only admins publish.
 */
@Path("/image")
@Produces(MediaType.APPLICATION_JSON)
public class ImagesResource {
    private static final Logger LOG = Logger.getLogger(ImagesResource.class);
    private static final Set<String> DISK_FORMATS = Set.of("raw", "qcow2", "aki", "ari", "ami");
    private static final Set<String> CONTAINER_FORMATS = Set.of("bare", "aki", "ari", "ami");
    /** Fields of a create request that are not free-form properties. */
    private static final int MAX_PROPERTIES = 128;
    private static final Set<String> CORE = Set.of("id", "name", "disk_format", "container_format", "visibility",
            "min_ram", "min_disk", "kernel_id", "ramdisk_id", "os_command_line", "protected", "tags");

    @Inject
    ImageStore images;
    @Inject
    SchedulerConfig config;
    @Inject
    Clock clock;
    @Context
    ContainerRequestContext request;

    @GET
    public Response versions() {
        return Response.status(300).entity(Map.of("versions", List.of(Map.of("id", "v2.9", "status", "CURRENT",
                "links", List.of(Map.of("rel", "self", "href", config.publicUrl() + "/image/v2/")))))).build();
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
                                    @QueryParam("visibility") String visibility, @QueryParam("limit") Integer limit,
                                    @QueryParam("marker") String marker) {
        Caller c = TokenFilter.caller(request);
        List<Image> found = new ArrayList<>(images.visibleTo(Optional.of(c.projectId())));
        found.removeIf(i -> (name != null && !i.name().equals(name)) || (status != null && !i.status().equals(status))
                || (visibility != null && !visibility.equals("all") && !i.visibility().equals(visibility)));
        if (marker != null) {
            Iterator<Image> it = found.iterator();
            boolean seen = false;
            while (it.hasNext() && !seen) {
                seen = it.next().id().equals(marker);
                it.remove();
            }
        }
        if (limit != null && limit >= 0 && limit < found.size()) {
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
        String visibility = Json.optionalString(body, "visibility", 16).orElse("shared").replace("shared", "private");
        if (!visibility.equals("private") && !visibility.equals("public") && !visibility.equals("community")) {
            throw ApiException.badRequest("visibility must be private, shared, community or public, not " + visibility);
        }
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
        String kernel = Json.optionalString(body, "kernel_id", 36).orElse("");
        String ramdisk = Json.optionalString(body, "ramdisk_id", 36).orElse("");
        for (String ref : List.of(kernel, ramdisk)) {
            if (!ref.isEmpty()) {
                visible(ref);
            }
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
            throw new ApiException(413, "an image takes at most " + MAX_PROPERTIES + " properties, not "
                    + properties.size());
        }
        Instant now = clock.instant();
        Image image = new Image(id, Json.optionalString(body, "name", 255).orElse(""), c.projectId(), visibility,
                "queued", diskFormat, containerFormat, 0, "", Json.optionalInteger(body, "min_ram", 0, 1L << 40, 0),
                Json.optionalInteger(body, "min_disk", 0, 1L << 30, 0), kernel, ramdisk,
                Json.optionalString(body, "os_command_line", 2048).orElse(""), properties, now, now);
        try {
            images.insert(image);
        } catch (io.stratus.database.Sql.SqlException e) {
            if (e.duplicate()) {
                throw ApiException.conflict("Image with identifier " + id + " already exists!");
            }
            throw e;
        }
        return Response.status(201).entity(view(image)).build();
    }

    /**
     * Takes an image's data, streamed to disk: the image is {@code saving} meanwhile, and becomes
     * {@code active} only when all of it is on disk; a failed upload leaves it {@code queued}
     * with nothing served.
     */
    @PUT
    @Path("/v2/images/{id}/file")
    @Consumes(MediaType.WILDCARD)
    public Response upload(@PathParam("id") String id, InputStream data) throws IOException {
        Caller c = TokenFilter.caller(request);
        Image image = visible(id);
        if (!c.isAdmin() && !image.owner().equals(c.projectId())) {
            throw ApiException.forbidden("You are not permitted to upload data for image " + id);
        }
        if (!images.transition(id, "queued", "saving")) {
            throw ApiException.conflict("Image status transition from " + image.status()
                    + " to saving is not allowed: data can be uploaded once, to a queued image");
        }
        java.nio.file.Path dir = Files.createDirectories(config.imagesDir());
        java.nio.file.Path partial = dir.resolve(id + ".partial");
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long size = 0;
        try (InputStream in = data; var out = Files.newOutputStream(partial)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                size += n;
                if (size > config.imageMaxBytes()) {
                    throw new ApiException(413, "Image exceeds the storage quota: more than "
                            + config.imageMaxBytes() + " bytes");
                }
                sha.update(buffer, 0, n);
                out.write(buffer, 0, n);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            images.transition(id, "saving", "queued");
            LOG.warnf("image %s: upload failed after %d bytes: %s", id, size, e.getMessage());
            throw e;
        }
        Files.move(partial, dir.resolve(id), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        images.activate(id, size, HexFormat.of().formatHex(sha.digest()));
        LOG.infof("image %s (%s): %d bytes stored", id, image.name(), size);
        return Response.noContent().build();
    }

    @GET
    @Path("/v2/images/{id}/file")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response download(@PathParam("id") String id) {
        Image image = visible(id);
        if (!image.status().equals("active")) {
            return Response.noContent().build();
        }
        java.nio.file.Path file = config.imagesDir().resolve(image.id());
        StreamingOutput body = out -> Files.copy(file, out);
        return Response.ok(body).header("Content-Length", image.size())
                .header("Content-Type", MediaType.APPLICATION_OCTET_STREAM).build();
    }

    @DELETE
    @Path("/v2/images/{id}")
    public Response delete(@PathParam("id") String id) throws IOException {
        Caller c = TokenFilter.caller(request);
        Image image = visible(id);
        if (!c.isAdmin() && !image.owner().equals(c.projectId())) {
            throw ApiException.forbidden("You are not permitted to delete image " + id);
        }
        images.delete(id);
        Files.deleteIfExists(config.imagesDir().resolve(id));
        return Response.noContent().build();
    }

    private Image visible(String id) {
        Caller c = TokenFilter.caller(request);
        return images.find(id).filter(i -> c.isAdmin() || !i.visibility().equals("private")
                        || i.owner().equals(c.projectId()))
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
        m.put("size", i.status().equals("active") ? i.size() : null);
        m.put("virtual_size", null);
        m.put("checksum", null);
        m.put("os_hash_algo", i.sha256().isEmpty() ? null : "sha256");
        m.put("os_hash_value", i.sha256().isEmpty() ? null : i.sha256());
        m.put("min_ram", i.minRamMib());
        m.put("min_disk", i.minDiskGib());
        m.put("protected", false);
        m.put("os_hidden", false);
        m.put("tags", List.of());
        if (!i.kernelId().isEmpty()) {
            m.put("kernel_id", i.kernelId());
        }
        if (!i.ramdiskId().isEmpty()) {
            m.put("ramdisk_id", i.ramdiskId());
        }
        if (!i.osCommandLine().isEmpty()) {
            m.put("os_command_line", i.osCommandLine());
        }
        i.properties().forEach(m::putIfAbsent);
        m.put("created_at", i.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        m.put("updated_at", i.updatedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        m.put("self", "/v2/images/" + i.id());
        m.put("file", "/v2/images/" + i.id() + "/file");
        m.put("schema", "/v2/schemas/image");
        return m;
    }
}
