package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.VolumeActions;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeService;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Nova's {@code os-volume_attachments}: a server's volumes, attached and detached while it runs,
 * is paused or is stopped. The device is the next free {@code /dev/vdX} after the root disk (a
 * hint, as in Nova: the guest's kernel names its disks itself).
 */
@Path("/compute/v2.1/servers/{id}/os-volume_attachments")
@Produces(MediaType.APPLICATION_JSON)
public class VolumeAttachmentsResource {
    @Inject
    ServerStore servers;
    @Inject
    AttachmentStore attachments;
    @Inject
    VolumeService volumes;
    @Inject
    VolumeActions actions;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list(@PathParam("id") String id) {
        Server s = owned(id);
        return Map.of("volumeAttachments", attachments.ofServer(s.id()).stream().map(this::view).toList());
    }

    @GET
    @Path("/{volumeId}")
    public Map<String, Object> show(@PathParam("id") String id, @PathParam("volumeId") String volumeId) {
        Server s = owned(id);
        return Map.of("volumeAttachment", view(attachments.find(volumeId, s.id()).orElseThrow(() ->
                ApiException.notFound("volume_id not found: " + volumeId))));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> attach(@PathParam("id") String id, JsonNode body) {
        Server s = owned(id);
        JsonNode a = body == null ? null : body.get("volumeAttachment");
        if (a == null || !a.isObject() || !a.path("volumeId").isTextual()) {
            throw ApiException.badRequest("Invalid input for field/attribute volumeAttachment: volumeId is required");
        }
        Caller c = TokenFilter.caller(request);
        Volume v = volumes.visibleVolume(new VolumeService.Asker(c.projectId(), c.userId(), c.isAdmin(),
                request.getHeaderString("X-Auth-Token")), a.get("volumeId").asText());
        String device = a.path("device").isTextual() && !a.get("device").asText().isEmpty()
                ? a.get("device").asText() : nextDevice(s.id());
        return Map.of("volumeAttachment", view(actions.attach(s, v, device)));
    }

    @DELETE
    @Path("/{volumeId}")
    public Response detach(@PathParam("id") String id, @PathParam("volumeId") String volumeId) {
        Server s = owned(id);
        actions.detach(s, volumeId);
        return Response.accepted().build();
    }

    private String nextDevice(String serverId) {
        Set<String> used = attachments.ofServer(serverId).stream().map(Attachment::device)
                .collect(Collectors.toSet());
        for (char c = 'b'; c <= 'z'; c++) {
            if (!used.contains("/dev/vd" + c)) {
                return "/dev/vd" + c;
            }
        }
        throw ApiException.forbidden("Maximum number of volumes attached to server " + serverId);
    }

    private Map<String, Object> view(Attachment a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", a.volumeId());
        m.put("serverId", a.serverId());
        m.put("volumeId", a.volumeId());
        m.put("device", a.device());
        return m;
    }

    private Server owned(String id) {
        return ServersResource.owned(servers, TokenFilter.caller(request), id);
    }
}
