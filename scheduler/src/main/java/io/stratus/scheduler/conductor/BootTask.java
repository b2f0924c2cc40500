package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.Boot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.placement.PlacementException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A boot (Nova's {@code build_instances}): places a server that waits in BUILD/SCHEDULING and
 * sends its boot; a boot that fails on its host gives its claim back, has the host's leftovers
 * deleted and is placed again elsewhere (up to {@code maxAttempts} hosts). A server no host can
 * take goes to ERROR with Nova's "No valid host was found." fault. Every step is conditional on
 * the server's current request, so replicas that race on one server never both act.
 */
final class BootTask {
    private static final Logger LOG = Logger.getLogger(BootTask.class);
    /** Nova's block_device_allocate_retries_interval default. */
    private static final long NOVA_POLL_SECONDS = 3;

    private final ServerStore servers;
    private final ImageCatalog images;
    private final Scheduling scheduling;
    private final BootRecipe recipe;
    private final NetworkService network;
    private final HostCommands commands;
    private final ServerVolumes volumes;
    private final int maxAttempts;
    private final Clock clock;
    private final Duration volumeWait;
    private final Counter placed;
    private final Counter noValidHost;
    private final Counter rescheduled;
    private final Timer placing;

    BootTask(ServerStore servers, ImageCatalog images, Scheduling scheduling, BootRecipe recipe,
             NetworkService network, HostCommands commands, ServerVolumes volumes, int maxAttempts,
             Clock clock, Duration volumeWait, MeterRegistry meters) {
        this.clock = clock;
        this.volumeWait = volumeWait;
        this.servers = servers;
        this.images = images;
        this.scheduling = scheduling;
        this.recipe = recipe;
        this.network = network;
        this.commands = commands;
        this.volumes = volumes;
        this.maxAttempts = maxAttempts;
        this.placed = Counter.builder("stratus.scheduler.placements").tag("result", "placed")
                .description("Boots placed on a host (claim made)").register(meters);
        this.noValidHost = Counter.builder("stratus.scheduler.placements").tag("result", "no_valid_host")
                .description("Boots no host could take").register(meters);
        this.rescheduled = Counter.builder("stratus.scheduler.reschedules")
                .description("Boots that failed on their host and were placed again or given up").register(meters);
        this.placing = Timer.builder("stratus.scheduler.placement.duration")
                .description("Filters, weighers and the claim of one boot").register(meters);
    }

    /** Places a server that waits in BUILD/SCHEDULING and sends its boot. */
    void schedule(String serverId) {
        schedule(serverId, Optional.empty());
    }

    /** @param lastFailure why the boot failed on the host tried before, for the fault if no host is left */
    private void schedule(String serverId, Optional<Server.Fault> lastFailure) {
        Optional<Server> found = servers.find(serverId);
        if (found.isEmpty() || found.get().taskState() != TaskState.SCHEDULING) {
            return;
        }
        Server s = found.get();
        Optional<ServerVolumes.Unready> unready = volumes.unready(s.id());
        if (unready.isPresent()) {
            if (unready.get().failed()) {
                abort(s, unready.get().reason());
            } else {
                // Still being made: the volume service schedules the server again when they are, unless it waited too long.
                volumesOverdue(s, unready.get());
            }
            return;
        }
        Image image;
        try {
            Optional<Image> known = s.imageId().isEmpty() ? Optional.of(BootRecipe.VOLUME_BACKED)
                    : images.find(s.imageId());
            if (known.isEmpty()) {
                servers.fail(s.id(), s.requestId(), new Server.Fault("ImageNotFound", "image " + s.imageId()
                        + " was deleted before the server was placed"));
                return;
            }
            image = known.get();
        } catch (ComputeException e) {
            LOG.warnf("instance %s request %s: %s", s.id(), s.requestId(), e.getMessage());
            servers.fail(s.id(), s.requestId(), new Server.Fault("ImageServiceUnavailable", e.getMessage()));
            return;
        }
        Timer.Sample timing = Timer.start();
        Scheduling.Outcome outcome;
        try {
            outcome = scheduling.place(Scheduling.Request.boot(s, image));
        } catch (PlacementException e) {
            LOG.errorf(e, "instance %s request %s: placement failed", s.id(), s.requestId());
            servers.fail(s.id(), s.requestId(), new Server.Fault("PlacementFailed", e.getMessage()));
            return;
        }
        timing.stop(placing);
        String decision = outcome.decision().summary();
        if (outcome instanceof Scheduling.Unplaced none) {
            noValidHost.increment();
            String why = (s.triedHosts().isEmpty() ? "" : " (already tried: " + String.join(", ", s.triedHosts()) + ")")
                    + lastFailure.map(f -> ". Last exception: " + f.code() + ": " + f.message()).orElse("");
            LOG.infof("instance %s request %s: no valid host: %s; %s%s", s.id(), s.requestId(), none.reason(),
                    decision, why);
            servers.fail(s.id(), s.requestId(), new Server.Fault("NoValidHost", none.reason() + "; " + decision + why));
            return;
        }
        String host = ((Scheduling.Placed) outcome).host();
        placed.increment();
        LOG.infof("instance %s request %s: placed on %s (attempt %d); %s", s.id(), s.requestId(), host,
                s.attempts() + 1, decision);
        List<String> triedNow = new ArrayList<>(s.triedHosts());
        triedNow.add(host);
        if (!servers.assign(s.id(), s.requestId(), host, triedNow, s.attempts() + 1)) {
            // Deleted, or another replica took the request over, while this one placed it.
            scheduling.release(s.id());
            return;
        }
        try {
            network.bindServer(s.id(), host);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s request %s: its ports could not be bound to %s", s.id(), s.requestId(), host);
            rollback(s, new Server.Fault("PortBindingFailed", "the server's ports could not be bound to its"
                    + " host: " + e.getMessage()));
            return;
        }
        try {
            Boot boot = recipe.boot(s, image, host);
            // An evacuated server's volumes keep their exports: they are its new host's now.
            volumes.moved(s.id(), host);
            commands.send(host, commands.envelope(s.id(), s.projectId(), s.requestId()).setBoot(boot).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s request %s: boot not dispatched to %s: %s", s.id(), s.requestId(), host,
                    e.getMessage());
            rollback(s, new Server.Fault("DispatchFailed", e.getMessage()));
        }
    }

    /**
     * Gives up on a server in BUILD whose volumes are still being made after the volume wait
     * (Nova's {@code _await_block_device_map_created}: {@code VolumeNotCreated}, the build aborted):
     * ERROR with Nova's {@code BuildAbortException} fault, its volumes let go as at its deletion.
     * Nothing for a server that has waited less, is placed already or waits for nothing.
     */
    void volumesOverdue(Server s) {
        if (s.taskState() == TaskState.SCHEDULING) {
            volumes.unready(s.id()).filter(u -> !u.failed()).ifPresent(u -> volumesOverdue(s, u));
        }
    }

    private void volumesOverdue(Server s, ServerVolumes.Unready unready) {
        Duration waited = Duration.between(s.taskStartedAt(), clock.instant());
        if (waited.compareTo(volumeWait) < 0) {
            return;
        }
        // Nova polls every block_device_allocate_retries_interval (3 s): its attempts for this wait.
        // Whole seconds, rounded: the database may keep the start a fraction of a microsecond later than it was.
        long seconds = (waited.toMillis() + 500) / 1000;
        abort(s, "Volume " + unready.volumeId() + " did not finish being created even after we waited " + seconds
                + " seconds or " + (seconds / NOVA_POLL_SECONDS + 1) + " attempts. And its status is "
                + unready.status() + ".");
    }

    /** Nova's BuildAbortException: the server is in ERROR, the volumes made for it go. */
    private void abort(Server s, String reason) {
        LOG.warnf("instance %s request %s: %s", s.id(), s.requestId(), reason);
        if (servers.fail(s.id(), s.requestId(), new Server.Fault("BuildAbortException", "Build of instance " + s.id()
                + " aborted: " + reason))) {
            volumes.buildFailed(s.id());
        }
    }

    /** A placed boot that cannot go on: its claim goes back and the server to ERROR. */
    private void rollback(Server s, Server.Fault why) {
        scheduling.release(s.id());
        servers.fail(s.id(), s.requestId(), why);
    }

    /**
     * A boot failed on its host: the claim goes back, the host's leftovers are deleted, and the
     * boot is placed again elsewhere while attempts remain.
     */
    void reschedule(Server s, Server.Fault cause) {
        String next = Conductor.newRequestId();
        if (!servers.unassign(s.id(), s.requestId(), next)) {
            return;
        }
        scheduling.release(s.id());
        s.host().ifPresent(scheduling::reread);
        rescheduled.increment();
        s.host().ifPresent(h -> commands.cleanUp(s, h));
        if (s.attempts() >= maxAttempts) {
            LOG.warnf("instance %s: boot failed on %s (%s); %d attempts made, giving up", s.id(), s.host().orElse("?"),
                    cause.message(), s.attempts());
            servers.fail(s.id(), next, new Server.Fault("NoValidHost", "No valid host was found. Exceeded maximum"
                    + " number of attempts (" + maxAttempts + ") for instance " + s.id()
                    + ". Last exception: " + cause.code() + ": " + cause.message()));
            return;
        }
        LOG.infof("instance %s: boot failed on %s (%s: %s); rescheduling, request %s", s.id(), s.host().orElse("?"),
                cause.code(), cause.message(), next);
        schedule(s.id(), Optional.of(cause));
    }
}
