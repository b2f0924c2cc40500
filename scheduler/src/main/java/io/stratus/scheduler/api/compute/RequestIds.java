package io.stratus.scheduler.api.compute;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.UUID;

/**
 * Every API request gets Nova's request id ({@code req-<uuid>}), answered in
 * {@code x-compute-request-id} and {@code x-openstack-request-id}; the instance actions a request
 * starts are recorded under it, so a client can look its own request up.
 */
@Provider
@PreMatching
public class RequestIds implements ContainerRequestFilter, ContainerResponseFilter {
    private static final String PROPERTY = "stratus.request-id";

    @Override
    public void filter(ContainerRequestContext request) {
        request.setProperty(PROPERTY, "req-" + UUID.randomUUID());
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        Object id = request.getProperty(PROPERTY);
        if (id != null) {
            response.getHeaders().putSingle("x-compute-request-id", id);
            response.getHeaders().putSingle("x-openstack-request-id", id);
        }
    }

    /** The id of {@code request}. */
    static String of(ContainerRequestContext request) {
        Object id = request.getProperty(PROPERTY);
        return id == null ? "req-" + UUID.randomUUID() : id.toString();
    }
}
