package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.exception.NoValidHost;
import io.stratus.scheduler.exception.ServiceUnavailable;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.Hypervisor;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * The start that live and cold moves share (Nova's {@code _check_*} and {@code _find_destination}
 * of its migration tasks): the checks of both hosts' drivers, the target chosen and claimed next
 * to the source's claim, the server's task started, and one fresh token for the two hosts.
 */
final class MoveTargets {
    private static final Logger LOG = Logger.getLogger(MoveTargets.class);
    private static final SecureRandom TOKENS = new SecureRandom();

    private final ServerStore servers;
    private final ImageCatalog images;
    private final HostDirectory hosts;
    private final Scheduling scheduling;
    private final BootRecipe recipe;
    private final NetworkService network;
    private final ServerVolumes volumes;

    MoveTargets(ServerStore servers, ImageCatalog images, HostDirectory hosts, Scheduling scheduling,
                BootRecipe recipe, NetworkService network, ServerVolumes volumes) {
        this.volumes = volumes;
        this.servers = servers;
        this.images = images;
        this.hosts = hosts;
        this.scheduling = scheduling;
        this.recipe = recipe;
        this.network = network;
    }

    /** A move's target, claimed, and what both hosts are told. */
    record Move(String source, String target, String address, String requestId, String token, Boot boot,
                String decision) {
    }

    /**
     * A move refused. A resize is the tenant's own (migrations are the operator's): its answer names
     * no host, and the operator finds the hosts and why in the log.
     */
    private static ComputeException refusal(Server s, String action, String forOperators, String forTenants,
                                            Function<String, ComputeException> kind) {
        if (!action.equals("resize")) {
            return kind.apply(forOperators);
        }
        LOG.infof("instance %s: %s", s.id(), forOperators);
        return kind.apply(forTenants);
    }

    /**
     * Claims the target of a move (the one asked for, or the best other host the filters and
     * weighers find among those whose driver can receive {@code transfer}) next to the source's
     * claim, and starts the server's task. A source that cannot send {@code transfer}, or a
     * target named that cannot receive it, is refused before anything is claimed.
     */
    Move claim(Server s, String action, Transfer transfer, Optional<String> targetHost, Optional<Flavor> to,
               TaskState task, InstanceState... from) {
        String source = s.host().orElseThrow(() -> new InstanceInvalidState("Instance " + s.id() + " has no host to"
                + " move from"));
        if (targetHost.equals(Optional.of(source))) {
            throw new InvalidRequest("Instance " + s.id() + " is already on host " + source + "; name another"
                    + " host or none");
        }
        targetHost.ifPresent(h -> {
            if (hosts.report(h).isEmpty()) {
                throw new InvalidRequest("Compute host " + h + " could not be found.");
            }
        });
        // Nova answers a live migration its hosts cannot do with MigrationPreCheckError (400).
        String refused = transfer.live() ? "Migration pre-check error: "
                : "Cannot '" + action + "' instance " + s.id() + ": ";
        transfer.refusal(source, hosts.hypervisor(source), true).ifPresent(why -> {
            throw refusal(s, action, refused + why, refused + "the hypervisor of its compute host cannot " + action
                    + " it", InvalidRequest::new);
        });
        targetHost.flatMap(h -> transfer.refusal(h, hosts.hypervisor(h), false)).ifPresent(why -> {
            throw new InvalidRequest(refused + why);
        });
        // The source can send (above): it has reported its driver.
        Hypervisor sourceDriver = hosts.hypervisor(source).orElseThrow();
        targetHost.flatMap(h -> hosts.hypervisor(h).flatMap(d -> transfer.mismatch(h, d, source, sourceDriver)))
                .ifPresent(why -> {
                    throw new InvalidRequest(refused + why);
                });
        // An operator may have enabled a host a moment ago: a move chooses from a current picture.
        scheduling.refresh();
        // A server booted from a volume needs no image: the target boots the same root volume's export.
        Image image = s.imageId().isEmpty() ? BootRecipe.VOLUME_BACKED : images.find(s.imageId())
                .orElseThrow(() -> new Conflict("Instance " + s.id() + " cannot move: its image " + s.imageId()
                        + " was deleted, and the target host needs it"));
        Flavor flavor = to.orElseGet(() -> recipe.flavorOf(s));
        String consumer = Conductor.migrationConsumer(s.id());
        scheduling.release(consumer);
        Scheduling.Outcome outcome = scheduling.place(new Scheduling.Request(consumer, s, image,
                BootRecipe.claim(s, flavor),
                transfer.required(sourceDriver), transfer.forbidden(sourceDriver),
                h -> !h.equals(source) && targetHost.map(h::equals).orElse(true)));
        Scheduling.Decision decision = outcome.decision();
        if (outcome instanceof Scheduling.Unplaced none) {
            throw refusal(s, action, "No valid host was found for '" + action + "' of " + s.id()
                    + targetHost.map(h -> " to " + h).orElse("") + ": " + none.reason() + "; " + decision.summary()
                    + (decision.removedBy(Filters.TRAITS_FILTER) ? " (" + Filters.TRAITS_FILTER + ": the target's"
                    + " hypervisor needs the trait " + transfer.trait + " to receive " + transfer.what
                    + (transfer.live() ? ", and the source's driver (" + sourceDriver.describe() + ")" : "")
                    + ")" : ""),
                    "No valid host was found. There are not enough hosts available.", NoValidHost::new);
        }
        String target = ((Scheduling.Placed) outcome).host();
        String address = hosts.report(target).map(HostReport::getGrpcAddress).orElse("");
        String requestId = Conductor.newRequestId();
        if (address.isEmpty() || !servers.startTask(s.id(), requestId, task, from)) {
            scheduling.release(consumer, target);
            if (address.isEmpty()) {
                throw new ServiceUnavailable("host " + target + " has not published its agent's address"
                        + " (stratus.agent.grpc-address): the source cannot reach it");
            }
            throw new InstanceInvalidState("Cannot '" + action + "' instance " + s.id() + ": another task started");
        }
        byte[] secret = new byte[32];
        TOKENS.nextBytes(secret);
        return new Move(source, target, address, requestId, Base64.getUrlEncoder().withoutPadding()
                .encodeToString(secret), recipe.boot(s, image, flavor, target), decision.summary());
    }

    /**
     * Binds the server's ports to {@code host}, where its guest already runs, and makes its volume
     * attachments that host's: the move is done whatever happens here, so a failure (the database
     * gone for a moment) is logged with the server's id.
     */
    void follow(String serverId, String host) {
        try {
            network.bindServer(serverId, host);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: its ports could not be bound to %s, where it runs now", serverId, host);
        }
        try {
            volumes.moved(serverId, host);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: its volume attachments could not be moved to %s, where it runs now", serverId,
                    host);
        }
    }
}
