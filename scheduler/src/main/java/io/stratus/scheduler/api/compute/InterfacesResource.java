package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.Port;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.Map;

/**
 * Nova's {@code os-interface}: a server's NICs, one per port. Attaching and detaching while the
 * server exists is refused: a guest's virtio-mmio devices are fixed when it boots (there is no
 * hotplug), so NICs are chosen at create.
 */
@Path("/compute/v2.1/servers/{id}/os-interface")
@Produces(MediaType.APPLICATION_JSON)
public class InterfacesResource {
    @Inject
    ServerStore servers;
    @Inject
    NetworkService network;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list(@PathParam("id") String id) {
        owned(id);
        return Map.of("interfaceAttachments", network.portsOf(id).stream().map(ServerPorts::attachment).toList());
    }

    @GET
    @Path("/{portId}")
    public Map<String, Object> show(@PathParam("id") String id, @PathParam("portId") String portId) {
        owned(id);
        Port p = network.portsOf(id).stream().filter(x -> x.id().equals(portId)).findFirst()
                .orElseThrow(() -> ApiException.notFound("Port " + portId + " is not attached to instance " + id));
        return Map.of("interfaceAttachment", ServerPorts.attachment(p));
    }

    @POST
    public Map<String, Object> attach(@PathParam("id") String id) {
        owned(id);
        throw ApiException.conflict("Cannot attach an interface to instance " + id + ": its NICs are fixed when it"
                + " boots (virtio-mmio has no hotplug); create the server with the networks or ports it needs");
    }

    @DELETE
    @Path("/{portId}")
    public Map<String, Object> detach(@PathParam("id") String id, @PathParam("portId") String portId) {
        owned(id);
        throw ApiException.conflict("Cannot detach port " + portId + " from instance " + id + ": its NICs are fixed"
                + " while it exists (virtio-mmio has no hotplug)");
    }

    private void owned(String id) {
        ServersResource.owned(servers, TokenFilter.caller(request), id);
    }
}
