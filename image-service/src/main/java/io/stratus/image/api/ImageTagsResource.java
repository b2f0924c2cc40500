package io.stratus.image.api;

import io.stratus.api.auth.TokenFilter;
import io.stratus.image.catalog.ImageCatalog;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** Glance's image tags: {@code PUT} and {@code DELETE /v2/images/{id}/tags/{tag}}, both 204. */
@Path("/image/v2/images/{id}/tags/{tag}")
@Produces(MediaType.APPLICATION_JSON)
public class ImageTagsResource {
    @Inject
    ImageCatalog catalog;
    @Context
    ContainerRequestContext request;

    /** Tags the image; a tag it has already is no error. */
    @PUT
    public Response add(@PathParam("id") String id, @PathParam("tag") String tag) {
        catalog.addTag(TokenFilter.caller(request), id, tag);
        return Response.noContent().build();
    }

    /** Takes a tag off the image; 404 when the image has no such tag. */
    @DELETE
    public Response remove(@PathParam("id") String id, @PathParam("tag") String tag) {
        catalog.removeTag(TokenFilter.caller(request), id, tag);
        return Response.noContent().build();
    }
}
