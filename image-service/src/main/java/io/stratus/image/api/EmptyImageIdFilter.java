package io.stratus.image.api;

import io.stratus.api.ApiException;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;

/**
 * {@code /v2/images/} (an empty image id) is no resource, as in Glance: 404 whatever the method.
 * Without this, the trailing slash would be dropped and the request taken as one on
 * {@code /v2/images} (a listing, or 405).
 */
@Provider
@PreMatching
@Priority(Priorities.USER + 100)
public class EmptyImageIdFilter implements ContainerRequestFilter {
    @Override
    public void filter(ContainerRequestContext request) {
        if (request.getUriInfo().getPath().equals("/image/v2/images/")) {
            throw ApiException.notFound("No image found with an empty ID: address an image as /v2/images/{image_id}");
        }
    }
}
