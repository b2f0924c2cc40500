package io.stratus.scheduler.api.metadata;

import io.stratus.scheduler.metadata.ConfigDriveFile;
import io.stratus.scheduler.metadata.MetadataAnswer;
import io.stratus.scheduler.metadata.MetadataException;
import io.stratus.scheduler.metadata.MetadataService;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code /metadata/...}: Nova's metadata service for the agents' metadata proxies, which forward
 * a guest's request for {@code http://169.254.169.254/<path>} here as {@code /metadata/<path>}
 * with the headers Neutron's proxy sends; and {@code /metadata/config-drive}, the files an
 * agent writes onto an instance's config drive. Not in the service catalog: no tenant calls it,
 * and it takes no token (the proxy's signature is its credential). Answers and refusals are plain
 * text, as Nova's are.
 */
@Path("/metadata")
public class MetadataResource {
    @Inject
    MetadataService service;

    @Context
    HttpHeaders headers;

    @GET
    public Response root() {
        return get("/");
    }

    /** The config drive's files as JSON: {@code {"files": [{"path": ..., "content": <base64>}]}}. */
    @GET
    @Path("/config-drive")
    public Response configDrive() {
        try {
            List<Map<String, String>> files = service.configDrive(proxy()).stream().map(MetadataResource::file)
                    .toList();
            return Response.ok(Map.of("files", files), MediaType.APPLICATION_JSON).build();
        } catch (MetadataException e) {
            return refusal(e);
        }
    }

    @GET
    @Path("/{path: .*}")
    public Response get(@PathParam("path") String path) {
        try {
            MetadataAnswer.Content c = service.get(proxy(), "/" + path);
            return Response.ok(c.body(), c.contentType()).build();
        } catch (MetadataException e) {
            return refusal(e);
        }
    }

    /** The guest posts its (encrypted) password to {@code /openstack/<version>/password}. */
    @POST
    @Path("/{path: .*}")
    @Consumes(MediaType.WILDCARD)
    public Response post(@PathParam("path") String path, byte[] body) {
        try {
            service.post(proxy(), "/" + path, body == null ? new byte[0] : body);
            return Response.ok().build();
        } catch (MetadataException e) {
            return refusal(e);
        }
    }

    private MetadataService.ProxyHeaders proxy() {
        return new MetadataService.ProxyHeaders(all("X-Instance-ID"), all("X-Tenant-ID"),
                all("X-Instance-ID-Signature"), Optional.ofNullable(headers.getHeaderString("X-Forwarded-For")));
    }

    private List<String> all(String name) {
        List<String> values = headers.getRequestHeader(name);
        return values == null ? List.of() : values;
    }

    private static Map<String, String> file(ConfigDriveFile f) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("path", f.path());
        m.put("content", Base64.getEncoder().encodeToString(f.content()));
        return m;
    }

    private static Response refusal(MetadataException e) {
        int status = switch (e.kind()) {
            case NOT_CONFIGURED -> 503;
            case BAD_REQUEST -> 400;
            case FORBIDDEN -> 403;
            case NOT_FOUND -> 404;
            case CONFLICT -> 409;
        };
        return Response.status(status).entity(e.getMessage() + "\n").type(MediaType.TEXT_PLAIN).build();
    }
}
