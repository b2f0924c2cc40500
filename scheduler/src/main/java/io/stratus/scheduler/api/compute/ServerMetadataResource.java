package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.TokenFilter;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code /compute/v2.1/servers/{id}/metadata}: a server's own key/value pairs, as Nova serves
 * them. PUT replaces them all, POST merges, an item is read, set or deleted by its key. Keys are
 * 1 to 255 of {@code [a-zA-Z0-9-_:. ]}, values strings of up to 255 characters, and a server has
 * at most its project's {@code metadata_items} of them (403 beyond). Changes need a server at
 * rest (active, paused or stopped, no task): 409 otherwise.
 */
@Path("/compute/v2.1/servers/{id}/metadata")
@Produces(MediaType.APPLICATION_JSON)
public class ServerMetadataResource {
    private static final Pattern KEY = Pattern.compile("[a-zA-Z0-9-_:. ]{1,255}");
    private static final int MAX_VALUE = 255;
    /** Nova changes metadata only of servers in these states, with no task. */
    private static final Set<InstanceState> AT_REST = Set.of(InstanceState.ACTIVE, InstanceState.PAUSED,
            InstanceState.SHUTOFF);

    @Inject
    ServerStore servers;
    @Inject
    ServerMetadataStore metadata;
    @Inject
    QuotaStore quotas;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list(@PathParam("id") String id) {
        return Map.of("metadata", metadata.of(owned(id).id()));
    }

    /** Merges the items sent into the server's; answers the server's metadata after. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> merge(@PathParam("id") String id, JsonNode body) {
        Server s = owned(id);
        Map<String, String> items = read(onlyField(body, "metadata"), "metadata");
        atRest(s, "update metadata");
        long limit = limit(s);
        if (!metadata.merge(s.id(), items, limit)) {
            throw tooMany(limit);
        }
        return Map.of("metadata", metadata.of(s.id()));
    }

    /** Replaces the server's metadata with the items sent. */
    @PUT
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> replace(@PathParam("id") String id, JsonNode body) {
        Server s = owned(id);
        Map<String, String> items = read(onlyField(body, "metadata"), "metadata");
        atRest(s, "update metadata");
        checkCount(items.size(), limit(s));
        metadata.replace(s.id(), items);
        return Map.of("metadata", items);
    }

    @GET
    @Path("/{key}")
    public Map<String, Object> show(@PathParam("id") String id, @PathParam("key") String key) {
        String value = metadata.of(owned(id).id()).get(key);
        if (value == null) {
            throw ApiException.notFound("Metadata item was not found");
        }
        return Map.of("meta", Map.of(key, value));
    }

    /** Sets one item: the body's {@code meta} holds exactly that key. */
    @PUT
    @Path("/{key}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> set(@PathParam("id") String id, @PathParam("key") String key, JsonNode body) {
        Server s = owned(id);
        JsonNode meta = onlyField(body, "meta");
        if (meta != null && meta.isObject() && meta.size() != 1) {
            throw ApiException.badRequest("'meta' holds exactly one item, not " + meta.size());
        }
        Map<String, String> item = read(meta, "meta");
        if (!item.containsKey(key)) {
            throw ApiException.badRequest("Request body and URI mismatch");
        }
        atRest(s, "update metadata");
        long limit = limit(s);
        if (!metadata.merge(s.id(), item, limit)) {
            throw tooMany(limit);
        }
        return Map.of("meta", item);
    }

    @DELETE
    @Path("/{key}")
    public Response delete(@PathParam("id") String id, @PathParam("key") String key) {
        Server s = owned(id);
        if (!metadata.of(s.id()).containsKey(key)) {
            throw ApiException.notFound("Metadata item was not found");
        }
        atRest(s, "delete metadata");
        metadata.delete(s.id(), key);
        return Response.noContent().build();
    }

    /**
     * Server metadata as Nova's schema takes it (at create and here): an object of keys of 1 to
     * 255 of {@code [a-zA-Z0-9-_:. ]}, each a string of at most 255 characters; {@code null} or
     * absent is none.
     */
    static Map<String, String> read(JsonNode node, String field) {
        Map<String, String> out = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isObject()) {
            throw ApiException.badRequest("'" + field + "' must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!KEY.matcher(e.getKey()).matches()) {
                throw ApiException.badRequest("Invalid input for field/attribute " + field + ": a metadata key is 1 to 255"
                        + " of the characters [a-zA-Z0-9-_:. ], not '" + e.getKey() + "'");
            }
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw ApiException.badRequest("Invalid input for field/attribute " + field + ": the value of '"
                        + e.getKey() + "' must be a string, not " + v.getNodeType().name().toLowerCase());
            }
            if (v.asText().length() > MAX_VALUE) {
                throw ApiException.badRequest("Invalid input for field/attribute " + field + ": the value of '"
                        + e.getKey() + "' is longer than " + MAX_VALUE + " characters");
            }
            out.put(e.getKey(), v.asText());
        }
        return out;
    }

    /** 403 when a server would have more items than its project's limit (-1: none), in Nova's words. */
    static void checkCount(int items, long limit) {
        if (limit >= 0 && items > limit) {
            throw tooMany(limit);
        }
    }

    private static ApiException tooMany(long limit) {
        return ApiException.forbidden("Maximum number of metadata items exceeds " + limit);
    }

    private long limit(Server s) {
        return quotas.limits(s.projectId()).getOrDefault("metadata_items", -1L);
    }

    /** The body's one field {@code name} (Nova's schemas allow no other); null when the body has none. */
    private static JsonNode onlyField(JsonNode body, String name) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("the request body needs an object '" + name + "'");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals(name)) {
                throw ApiException.badRequest("Additional properties are not allowed ('" + f + "' was unexpected); the"
                        + " body is {\"" + name + "\": {...}}");
            }
        }
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) {
            throw ApiException.badRequest("the request body needs an object '" + name + "'");
        }
        return n;
    }

    /** Nova's check_instance_state for metadata changes, answered 409 in its words. */
    private static void atRest(Server s, String action) {
        if (!AT_REST.contains(s.vmState())) {
            throw ApiException.conflict("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                    + Views.vmState(s.vmState()));
        }
        if (s.taskState() != TaskState.NONE) {
            throw ApiException.conflict("Cannot '" + action + "' instance " + s.id() + " while it is in task_state "
                    + Views.taskState(s.taskState()));
        }
    }

    /** The caller's server, or 404 (another project's server does not exist for it). */
    private Server owned(String id) {
        return ServersResource.owned(servers, TokenFilter.caller(request), id);
    }
}
