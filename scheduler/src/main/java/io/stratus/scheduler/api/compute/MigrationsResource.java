package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Nova's {@code os-migrations}: every live migration, cold migration and resize to another host,
 * newest first, with the filters API 2.1 has (instance_uuid, status, migration_type, host: the
 * source or the destination). Admin only. A move that ended in error says why in
 * {@code stratus:fault}, which Nova keeps in instance actions instead.
 */
@Path("/compute/v2.1/os-migrations")
@Produces(MediaType.APPLICATION_JSON)
public class MigrationsResource {
    @Inject
    MigrationStore migrations;
    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list(@QueryParam("instance_uuid") String serverId, @QueryParam("status") String status,
                                    @QueryParam("migration_type") String type, @QueryParam("host") String host) {
        TokenFilter.admin(request, "os_compute_api:os-migrations:index");
        MigrationStore.Filter filter = new MigrationStore.Filter(Optional.ofNullable(serverId),
                Optional.ofNullable(status).map(s -> Migration.Status.ofNovaName(s).orElseThrow(() -> invalid(
                        "status", s, Arrays.stream(Migration.Status.values()).map(Migration.Status::novaName)))),
                Optional.ofNullable(type).map(t -> Migration.Type.ofNovaName(t).orElseThrow(() -> invalid(
                        "migration_type", t, Arrays.stream(Migration.Type.values()).map(Migration.Type::novaName)))),
                Optional.ofNullable(host));
        return Map.of("migrations", migrations.list(filter).stream().map(MigrationsResource::view).toList());
    }

    private static ApiException invalid(String filter, String value, Stream<String> known) {
        return ApiException.badRequest("Invalid " + filter + " " + value + "; one of " + known.toList());
    }

    private static Map<String, Object> view(Migration m) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", m.id());
        v.put("uuid", m.uuid());
        v.put("instance_uuid", m.serverId());
        v.put("migration_type", m.type().novaName());
        v.put("status", m.status().novaName());
        v.put("source_compute", m.sourceHost());
        v.put("source_node", m.sourceHost());
        v.put("dest_compute", m.destHost());
        v.put("dest_node", m.destHost());
        v.put("dest_host", null);
        v.put("old_instance_type_id", m.oldFlavorId());
        v.put("new_instance_type_id", m.newFlavorId());
        v.put("project_id", m.projectId());
        v.put("user_id", m.userId());
        v.put("created_at", Views.time(m.createdAt()));
        v.put("updated_at", Views.time(m.updatedAt()));
        m.fault().ifPresent(f -> v.put("stratus:fault", Map.of("code", f.code(), "message", f.message())));
        return v;
    }
}
