package io.stratus.image.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.image.catalog.ImageSchema;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/** Glance's JSON schemas of an image and of a page of images. */
@Path("/image/v2/schemas")
@Produces(MediaType.APPLICATION_JSON)
public class SchemasResource {
    @Inject
    ImageSchema schema;

    @GET
    @Path("/image")
    public ObjectNode image() {
        return schema.image();
    }

    @GET
    @Path("/images")
    public ObjectNode images() {
        return schema.images();
    }
}
