package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.Map;

/**
 * {@code POST /servers/{id}/remote-consoles} (microversion 2.6 and later): a console's URL. Older
 * versions use the {@code os-getSerialConsole} action instead, as Nova's do.
 */
@Path("/compute/v2.1/servers/{id}/remote-consoles")
@Produces(MediaType.APPLICATION_JSON)
public class RemoteConsolesResource {
    @Inject
    ServerStore servers;
    @Inject
    SerialConsoleUrls urls;

    @Context
    ContainerRequestContext request;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> create(@PathParam("id") String id, JsonNode body) {
        if (!Microversion.of(request).atLeast(2, 6)) {
            throw ApiException.notFound("The resource could not be found: remote-consoles needs microversion 2.6 or"
                    + " later.");
        }
        JsonNode console = Json.object(body, "remote_console");
        String protocol = Json.string(console, "protocol", 16);
        String type = Json.string(console, "type", 16);
        Server s = ServersResource.owned(servers, TokenFilter.caller(request), id);
        return Map.of("remote_console", Map.of("protocol", protocol, "type", type,
                "url", urls.issue(s, protocol, type)));
    }
}
