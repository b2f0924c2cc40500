package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code /network/v2.0/quotas}: a project sees its own limits; admins see and set anyone's. */
@Path("/network/v2.0/quotas")
@Produces(MediaType.APPLICATION_JSON)
public class NetworkQuotasResource extends NeutronResource {
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        TokenFilter.admin(request, "get_quota");
        List<Map<String, Object>> out = new ArrayList<>();
        quotas.overridden().forEach((project, limits) -> {
            Map<String, Object> m = new LinkedHashMap<>(limits);
            m.put("project_id", project);
            m.put("tenant_id", project);
            out.add(m);
        });
        return Map.of("quotas", out);
    }

    @GET
    @Path("/{project}")
    public Map<String, Object> show(@PathParam("project") String project) {
        if (!owns(project)) {
            throw new NetworkException(NetworkException.Kind.FORBIDDEN, "HTTPForbidden",
                    "Only admin can view or configure quota");
        }
        return Map.of("quota", quotas.limits(project));
    }

    @GET
    @Path("/{project}/default")
    public Map<String, Object> defaults(@PathParam("project") String project) {
        return Map.of("quota", NetworkQuotaStore.DEFAULTS);
    }

    @PUT
    @Path("/{project}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("project") String project, JsonNode body) {
        TokenFilter.admin(request, "update_quota");
        JsonNode q = NeutronBody.one(body, "quota");
        Map<String, Long> limits = new LinkedHashMap<>();
        for (Iterator<String> it = q.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            limits.put(name, NeutronBody.integer(q, name).map(Integer::longValue).orElse(-1L));
        }
        return Map.of("quota", quotas.set(project, limits));
    }

    @DELETE
    @Path("/{project}")
    public Response reset(@PathParam("project") String project) {
        TokenFilter.admin(request, "delete_quota");
        quotas.reset(project);
        return Response.noContent().build();
    }
}
