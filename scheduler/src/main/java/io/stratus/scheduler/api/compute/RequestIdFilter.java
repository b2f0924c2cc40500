package io.stratus.scheduler.api.compute;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;
import java.util.UUID;

/**
 * Every compute response carries a request id, as Nova's (oslo.middleware's request_id and
 * Nova's compute_req_id): {@code x-openstack-request-id} and {@code x-compute-request-id}, both
 * {@code req-<uuid>}. Clients log it, and tempest reads it from every server it creates.
 */
@Provider
public class RequestIdFilter implements ContainerResponseFilter {
    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        String path = request.getUriInfo().getPath();
        if (path.startsWith("/compute") || path.startsWith("compute")) {
            String id = "req-" + UUID.randomUUID();
            response.getHeaders().putSingle("x-openstack-request-id", id);
            response.getHeaders().putSingle("x-compute-request-id", id);
        }
    }
}
