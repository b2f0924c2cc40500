package io.stratus.scheduler.api.compute;

import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.ServerStore;
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
import java.util.Map;

/**
 * Nova's {@code os-server-password}: the password a server's guest posted to the metadata
 * service (encrypted with the server's key by the guest; {@code nova get-password} decrypts it),
 * and clearing it so that the guest may post a new one.
 */
@Path("/compute/v2.1/servers/{id}/os-server-password")
@Produces(MediaType.APPLICATION_JSON)
public class ServerPasswordResource {
    @Inject
    ServerStore servers;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> show(@PathParam("id") String id) {
        ServersResource.owned(servers, TokenFilter.caller(request), id);
        return Map.of("password", servers.guestPassword(id).orElse(""));
    }

    @DELETE
    public Response clear(@PathParam("id") String id) {
        ServersResource.owned(servers, TokenFilter.caller(request), id);
        servers.clearGuestPassword(id);
        return Response.noContent().build();
    }
}
