package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.SecurityGroup;
import io.stratus.scheduler.network.SecurityGroupStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code /network/v2.0/security-groups}: a project's groups; its {@code default} group is made the
 * first time the project looks at or makes one, as Neutron does.
 */
@Path("/network/v2.0/security-groups")
@Produces(MediaType.APPLICATION_JSON)
public class SecurityGroupsResource extends NeutronResource {
    @Inject
    SecurityGroupStore groups;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        groups.ensureDefault(caller().projectId());
        return listed("security_groups", groups.list().stream().filter(g -> owns(g.projectId()))
                .map(NetworkViews::securityGroup).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("security_group", NetworkViews.securityGroup(owned(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<Map<String, Object>> made = new ArrayList<>();
        for (JsonNode g : NeutronBody.creates(body, "security_group", "security_groups")) {
            String project = NeutronBody.project(g, caller);
            groups.ensureDefault(project);
            quotas.check(project, "security_group", groups.countGroups(project), 1);
            made.add(NetworkViews.securityGroup(groups.create(project, NeutronBody.string(g, "name", 255).orElse(""),
                    NeutronBody.string(g, "description", 255).orElse(""))));
        }
        return created("security_group", "security_groups", made, body.has("security_groups"));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        SecurityGroup g = owned(id);
        JsonNode c = NeutronBody.one(body, "security_group");
        return Map.of("security_group", NetworkViews.securityGroup(groups.update(g.id(),
                NeutronBody.string(c, "name", 255).orElse(g.name()),
                NeutronBody.string(c, "description", 255).orElse(g.description()))));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        groups.delete(owned(id).id(), caller().isAdmin());
        return Response.noContent().build();
    }

    private SecurityGroup owned(String id) {
        return groups.find(id).filter(g -> owns(g.projectId()))
                .orElseThrow(() -> NetworkException.notFound("SecurityGroup", id));
    }
}
