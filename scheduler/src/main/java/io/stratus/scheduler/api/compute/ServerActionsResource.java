package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.StatusRuntimeException;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.proto.v1.HostReport;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.AgentConsoles;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.ServerActions;
import io.stratus.scheduler.hosts.HostDirectory;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code POST /compute/v2.1/servers/{id}/action}: Nova's server actions, one body naming one
 * action — power, lock, resize and its confirm/revert, moves (admin), rebuild and createImage
 * ({@link ServerImageActions}), the console log and the serial console's URL. Every action is
 * recorded as an instance action; a lock stops all but those Nova lets through.
 */
@Path("/compute/v2.1/servers/{id}/action")
@Produces(MediaType.APPLICATION_JSON)
public class ServerActionsResource {
    private static final int CONSOLE_BYTES = 256 * 1024;
    /** Actions a lock does not stop (Nova's check_instance_lock is not on these). */
    private static final Set<String> UNLOCKED_ACTIONS = Set.of("lock", "unlock",
            "os-getConsoleOutput", "os-getSerialConsole", "createImage");
    /** The names Nova's instance actions give the API's actions where they differ from the action's key. */
    private static final Map<String, String> ACTION_NAMES = Map.of("os-stop", "stop", "os-start", "start",
            "os-migrateLive", "live-migration");

    @Inject
    ServersResource api;
    @Inject
    ServerStore servers;
    @Inject
    FlavorStore flavors;
    @Inject
    Conductor conductor;
    @Inject
    ServerActions actions;
    @Inject
    AgentConsoles consoles;
    @Inject
    SerialConsoleUrls serialConsoles;
    @Inject
    HostDirectory hosts;

    @Context
    ContainerRequestContext request;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response action(@PathParam("id") String id, JsonNode body) {
        Caller caller = TokenFilter.caller(request);
        if (body == null || !body.isObject() || body.size() != 1) {
            throw ApiException.badRequest("an action body names exactly one action, e.g. {\"os-stop\": null}");
        }
        String action = body.fieldNames().next();
        JsonNode args = body.get(action);
        Server s = ServersResource.owned(servers, caller, id);
        if (!UNLOCKED_ACTIONS.contains(action)) {
            ServersResource.refuseIfLocked(s, caller);
        }
        switch (action) {
            case "lock":
                // Nova records who locked it: an owner's lock the owner may lift, an admin's only an admin.
                servers.lock(id, Optional.of(caller.isAdmin() && !s.projectId().equals(caller.projectId()) ? "admin"
                        : "owner"));
                break;
            case "unlock":
                if (s.lockedBy().equals(Optional.of("admin")) && !caller.isAdmin()) {
                    throw ApiException.forbidden("Policy doesn't allow unlocking a server an admin locked.");
                }
                servers.lock(id, Optional.empty());
                break;
            case "os-stop":
                actions.stop(s);
                break;
            case "os-start":
                actions.start(s);
                break;
            case "reboot": {
                String type = args != null && args.isObject()
                        ? Json.optionalString(args, "type", 8).orElse("SOFT") : "SOFT";
                if (!type.equalsIgnoreCase("SOFT") && !type.equalsIgnoreCase("HARD")) {
                    throw ApiException.badRequest("reboot type must be SOFT or HARD, not " + type);
                }
                actions.reboot(s, type.equalsIgnoreCase("HARD"));
                break;
            }
            case "pause":
                actions.pause(s);
                break;
            case "unpause":
                actions.unpause(s);
                break;
            case "resize": {
                String ref = ServersResource.lastSegment(Json.string(Json.object(body, "resize"), "flavorRef", 1024));
                Flavor to = api.usableFlavor(caller, ref);
                // An upsize needs quota for what it adds; the old size is held until confirm, as in Nova.
                api.quotaChecks().checkDelta(s.projectId(), to.vcpus() - s.vcpus(), to.ramMib() - s.ramMib());
                actions.resize(s, to);
                break;
            }
            case "confirmResize": {
                Flavor pending = s.pendingFlavorId().flatMap(flavors::byId).orElseThrow(() ->
                        ApiException.conflict("Instance " + id + " has no resize to confirm"));
                actions.confirmResize(s, pending);
                api.record(id, caller, "confirmResize");
                // Nova answers a confirm with 204, every other action with 202.
                return Response.noContent().build();
            }
            case "revertResize":
                actions.revertResize(s);
                break;
            case "os-migrateLive": {
                requireAdmin(caller, action);
                Optional<String> host = args != null && args.isObject()
                        ? Json.optionalString(args, "host", 255) : Optional.empty();
                actions.liveMigrate(s, host);
                break;
            }
            case "migrate": {
                requireAdmin(caller, action);
                Optional<String> host = args != null && args.isObject()
                        ? Json.optionalString(args, "host", 255) : Optional.empty();
                Flavor current = flavors.byId(s.flavorId()).orElseThrow(() -> ApiException.conflict("Instance " + id
                        + " cannot move: its flavor " + s.flavorId() + " was deleted"));
                actions.migrate(s, host, current);
                break;
            }
            case "evacuate": {
                requireAdmin(caller, action);
                if (args != null && args.isObject() && args.hasNonNull("host")) {
                    throw ApiException.badRequest("evacuate does not take a host here: the scheduler chooses it");
                }
                // Rebuilt from its image elsewhere: what its root disk held on the dead host is lost, as in Nova.
                conductor.evacuate(s);
                api.record(id, caller, "evacuate");
                // Nova answers 200 with no body from microversion 2.14 (no adminPass).
                return Response.ok().build();
            }
            case "os-getConsoleOutput":
                return Response.ok(Map.of("output", console(s, args))).build();
            case "os-getSerialConsole": {
                String type = Json.string(Json.object(body, action), "type", 16);
                return Response.ok(Map.of("console", Map.of("type", type, "url", serialConsoles.issue(s, "serial",
                        type)))).build();
            }
            case "rebuild": {
                Response rebuilt = ServerImageActions.rebuild(api, caller, s, Json.object(body, "rebuild"));
                api.record(id, caller, "rebuild");
                return rebuilt;
            }
            case "createImage": {
                Response imaging = ServerImageActions.createImage(api, caller, s, Json.object(body, "createImage"));
                api.record(id, caller, "createImage");
                return imaging;
            }
            default:
                throw ApiException.badRequest("unknown server action '" + action + "'");
        }
        api.record(id, caller, ACTION_NAMES.getOrDefault(action, action));
        return Response.accepted().build();
    }

    private String console(Server s, JsonNode args) {
        long lines = -1;
        if (args != null && args.isObject() && args.has("length") && !args.get("length").isNull()) {
            lines = Json.integer(args, "length", -1, Integer.MAX_VALUE);
        }
        String host = s.host().orElseThrow(() -> ApiException.conflict("Instance " + s.id()
                + " has no host yet, so no console (status " + Views.status(s.vmState(), s.taskState()) + ")"));
        String address = hosts.report(host).map(HostReport::getGrpcAddress).filter(a -> !a.isEmpty())
                .orElseThrow(() -> new ApiException(503, "host " + host + " has not published its agent's address"
                        + " (stratus.agent.grpc-address); its console cannot be read"));
        String text;
        try {
            text = consoles.tail(host, address, s.id(), CONSOLE_BYTES);
        } catch (StatusRuntimeException e) {
            throw new ApiException(e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND ? 404 : 503,
                    "the console of instance " + s.id() + " on host " + host + " cannot be read: " + e.getStatus());
        }
        if (lines < 0) {
            return text;
        }
        String[] all = text.split("\n", -1);
        int from = (int) Math.max(0, all.length - lines - (text.endsWith("\n") ? 1 : 0));
        return String.join("\n", Arrays.asList(all).subList(from, all.length));
    }

    private static void requireAdmin(Caller caller, String action) {
        if (!caller.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow " + action + " to be performed: it needs the admin role.");
        }
    }
}
