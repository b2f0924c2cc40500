package io.stratus.image.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.ApiExceptionMapper;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.image.blob.BlobStore;
import io.stratus.image.catalog.ImageCatalog;
import io.stratus.image.catalog.ImagePatch;
import io.stratus.image.catalog.ListParameters;
import io.stratus.image.config.ImageServiceConfig;
import io.stratus.image.store.Image;
import io.stratus.image.store.ImageStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.PathPart;

/**
 * The Image API v2: create, JSON-patch, show, list (Glance's filters, sorting and pages), delete,
 * download (streamed, one HTTP range); uploads are {@link UploadRoute}'s, tags
 * {@link ImageTagsResource}'s, schemas {@link SchemasResource}'s. Who sees and changes what is
 * the {@link ImageCatalog}'s to say.
 */
@Path("/image")
@Produces(MediaType.APPLICATION_JSON)
public class ImagesResource {
    private static final Logger LOG = Logger.getLogger(ImagesResource.class);

    @Inject
    ImageCatalog catalog;
    @Inject
    ImageStore images;
    @Inject
    BlobStore blobs;
    @Inject
    ImageServiceConfig config;
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
    public Map<String, Object> list() {
        Map<String, List<String>> params = request.getUriInfo().getQueryParameters();
        ImageCatalog.Page page = catalog.list(TokenFilter.caller(request), ListParameters.parse(params));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("images", page.images().stream().map(ImageView::of).toList());
        String query = query(params, Optional.empty());
        body.put("first", "/v2/images" + (query.isEmpty() ? "" : "?" + query));
        page.next().ifPresent(marker -> body.put("next", "/v2/images?" + query(params, Optional.of(marker))));
        body.put("schema", "/v2/schemas/images");
        return body;
    }

    @GET
    @Path("/v2/images/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return ImageView.of(catalog.visible(TokenFilter.caller(request), id));
    }

    @POST
    @Path("/v2/images")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller c = TokenFilter.caller(request);
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("the request body must be a JSON object of image fields");
        }
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        body.fields().forEachRemaining(f -> fields.put(f.getKey(), f.getValue()));
        JsonNode id = fields.remove("id");
        if (id != null && !id.isTextual()) {
            throw ApiException.badRequest("an image id is a UUID string");
        }
        Image image = catalog.create(c, Optional.ofNullable(id).map(JsonNode::asText), fields);
        LOG.infof("image %s (%s) created by project %s", image.id(), image.name(), c.projectId());
        return Response.status(201).entity(ImageView.of(image)).header("Location", "/v2/images/" + image.id())
                .build();
    }

    /**
     * Glance's JSON-patch of an image: the changes in order, all or none; 415 (with the media
     * types in {@code Accept-Patch}) for a body that is no patch.
     */
    @PATCH
    @Path("/v2/images/{id}")
    @Consumes(MediaType.WILDCARD)
    public Response update(@PathParam("id") String id, @HeaderParam("Content-Type") String contentType,
                           String body) {
        Caller c = TokenFilter.caller(request);
        Optional<Boolean> addReplaces = JsonPatchReader.addReplaces(contentType);
        if (addReplaces.isEmpty()) {
            return Response.fromResponse(ApiExceptionMapper.render(415, "Unsupported media type " + contentType
                    + " for an image patch: use " + JsonPatchReader.ACCEPTED, "/image"))
                    .header("Accept-Patch", JsonPatchReader.ACCEPTED).build();
        }
        ImagePatch patch = JsonPatchReader.read(addReplaces.get(), body);
        Image image = catalog.update(c, id, patch);
        LOG.infof("image %s updated by project %s: %d changes", id, c.projectId(), patch.operations().size());
        return Response.ok(ImageView.of(image)).build();
    }

    /** The data, streamed; one byte range when asked ({@code 206}), {@code 416} for a bad range. */
    @GET
    @Path("/v2/images/{id}/file")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public Response download(@PathParam("id") String id, @HeaderParam("Range") String range) {
        Image image = catalog.visible(TokenFilter.caller(request), id);
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
        Image image = catalog.visible(c, id);
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

    /** The query of a listing for its links: the parameters given (by name), with {@code marker} replaced. */
    private static String query(Map<String, List<String>> params, Optional<String> marker) {
        StringBuilder q = new StringBuilder();
        new TreeMap<>(params).forEach((name, values) -> {
            if (!name.equals("marker")) {
                values.forEach(v -> q.append(q.length() == 0 ? "" : "&").append(encode(name)).append('=')
                        .append(encode(v)));
            }
        });
        marker.ifPresent(m -> q.append(q.length() == 0 ? "" : "&").append("marker=").append(encode(m)));
        return q.toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
