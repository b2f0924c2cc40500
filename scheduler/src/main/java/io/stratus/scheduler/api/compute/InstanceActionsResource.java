package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.InstanceAction;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.ServerStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.Map;

/** Nova's {@code os-instance-actions}: what was done to a server, by which request and user. */
@Path("/compute/v2.1/servers/{id}/os-instance-actions")
@Produces(MediaType.APPLICATION_JSON)
public class InstanceActionsResource {
    @Inject
    ServerStore servers;
    @Inject
    InstanceActionStore actions;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list(@PathParam("id") String id) {
        owned(id);
        return Map.of("instanceActions", actions.of(id).stream().map(InstanceActionsResource::body).toList());
    }

    @GET
    @Path("/{requestId}")
    public Map<String, Object> show(@PathParam("id") String id, @PathParam("requestId") String requestId) {
        owned(id);
        InstanceAction a = actions.find(id, requestId).orElseThrow(() -> ApiException.notFound("Action " + requestId
                + " on instance " + id + " could not be found."));
        return Map.of("instanceAction", body(a));
    }

    /** Only the server's project (or an admin) sees its actions; a deleted server has none at 2.1. */
    private void owned(String id) {
        ServersResource.owned(servers, TokenFilter.caller(request), id);
    }

    private static Map<String, Object> body(InstanceAction a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("action", a.action());
        m.put("instance_uuid", a.serverId());
        m.put("request_id", a.requestId());
        m.put("user_id", a.userId());
        m.put("project_id", a.projectId());
        m.put("start_time", Views.time(a.startTime()));
        m.put("message", a.message().orElse(null));
        return m;
    }
}
