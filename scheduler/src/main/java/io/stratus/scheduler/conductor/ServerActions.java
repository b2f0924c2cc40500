package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.ConfirmResize;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.InstanceTransition;
import io.stratus.proto.v1.Pause;
import io.stratus.proto.v1.Reboot;
import io.stratus.proto.v1.RevertResize;
import io.stratus.proto.v1.Start;
import io.stratus.proto.v1.Stop;
import io.stratus.proto.v1.Unpause;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.ServiceUnavailable;
import io.stratus.scheduler.placement.PlacementStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The server actions of the API: each starts a task on the server (only from the states Nova
 * allows it in, as the contract's {@link InstanceTransition} table says, and only when no other
 * task runs), then sends the command to the server's host.
 * A command the bus does not take ends the task at once with a fault and {@link ServiceUnavailable};
 * a state that does not allow the action is {@link InstanceInvalidState}.
 */
public final class ServerActions {
    private static final Logger LOG = Logger.getLogger(ServerActions.class);

    private final ServerStore servers;
    private final FlavorStore flavors;
    private final PlacementStore placement;
    private final HostCommands commands;
    private final Conductor conductor;
    private final MigrationStore migrations;

    public ServerActions(ServerStore servers, FlavorStore flavors, PlacementStore placement, HostCommands commands,
                         Conductor conductor, MigrationStore migrations) {
        this.servers = servers;
        this.migrations = migrations;
        this.flavors = flavors;
        this.placement = placement;
        this.commands = commands;
        this.conductor = conductor;
    }

    public void stop(Server s) {
        run(s, InstanceTransition.STOP, b -> b.setStop(Stop.getDefaultInstance()));
    }

    public void start(Server s) {
        run(s, InstanceTransition.START, b -> b.setStart(Start.getDefaultInstance()));
    }

    public void reboot(Server s, boolean hard) {
        run(s, hard ? InstanceTransition.REBOOT_HARD : InstanceTransition.REBOOT_SOFT,
                b -> b.setReboot(Reboot.newBuilder().setKind(hard ? Reboot.Kind.HARD : Reboot.Kind.SOFT)));
    }

    public void pause(Server s) {
        run(s, InstanceTransition.PAUSE, b -> b.setPause(Pause.getDefaultInstance()));
    }

    public void unpause(Server s) {
        run(s, InstanceTransition.UNPAUSE, b -> b.setUnpause(Unpause.getDefaultInstance()));
    }

    /**
     * Nova's cold migrate (admin): the server moves, with its flavor, to {@code host} or to the
     * host the scheduler picks, and waits there in VERIFY_RESIZE.
     */
    public void migrate(Server s, Optional<String> host, Flavor current) {
        conductor.coldMove(s, "migrate", current, host);
    }

    /**
     * Resizes on the server's host: the new size is claimed there first (next to the old one,
     * which stays held until the resize is confirmed), so a host without room refuses up front.
     * A host without room, or disabled by its operator or its agent, moves the server instead.
     */
    public void resize(Server s, Flavor to) {
        conductor.resize(s, to);
    }

    /** Live-migrates an ACTIVE server to {@code host}, or to the host the scheduler picks. */
    public void liveMigrate(Server s, Optional<String> host) {
        conductor.liveMigrate(s, host, 0);
    }

    /**
     * Keeps the new size. After a cold move the target's claim becomes the server's and the
     * source is told to delete its copy.
     */
    public void confirmResize(Server s, Flavor pending) {
        run(s, InstanceTransition.CONFIRM_RESIZE, b -> b.setConfirmResize(ConfirmResize.getDefaultInstance()));
        migrations.settle(s.id(), Migration.Status.CONFIRMED);
        if (s.sourceHost().isPresent()) {
            placement.replace(s.id(), Conductor.migrationConsumer(s.id()));
            servers.clearSourceHost(s.id());
            String source = s.sourceHost().get();
            try {
                commands.send(source, commands.envelope(s.id(), s.projectId(), Conductor.newRequestId())
                        .setDelete(Delete.getDefaultInstance()).build());
            } catch (DispatchException e) {
                // Its host deletes it when it hears of it; until then the copy only takes disk there.
                LOG.warnf("instance %s: the confirmed move's source %s was not told to delete its copy: %s", s.id(),
                        source, e.getMessage());
            }
        } else {
            placement.replace(s.id(), Conductor.resizeConsumer(s.id()));
        }
        servers.adoptFlavor(s.id(), pending);
    }

    /**
     * Goes back to the old size. After a cold move the server is its source's again: the source
     * starts its kept copy, the target deletes the new one and its claim goes back.
     */
    public void revertResize(Server s) {
        if (s.sourceHost().isEmpty()) {
            run(s, InstanceTransition.REVERT_RESIZE, b -> b.setRevertResize(RevertResize.getDefaultInstance()));
            placement.release(Conductor.resizeConsumer(s.id()));
            servers.setPendingFlavor(s.id(), Optional.empty());
            migrations.settle(s.id(), Migration.Status.REVERTED);
            return;
        }
        String source = s.sourceHost().get();
        String target = s.host().orElseThrow(() -> InstanceInvalidState.of(s, "revertResize"));
        String request = Conductor.newRequestId();
        if (!servers.startRevertMove(s.id(), request, source)) {
            throw InstanceInvalidState.of(servers.find(s.id()).orElse(s), "revertResize");
        }
        conductor.follow(s.id(), source);
        try {
            commands.send(source, commands.envelope(s.id(), s.projectId(), request)
                    .setRevertResize(RevertResize.getDefaultInstance()).build());
        } catch (DispatchException e) {
            servers.abandonTask(s.id(), request, new Server.Fault("DispatchFailed", e.getMessage()));
            throw new ServiceUnavailable("'revertResize' could not be handed to host " + source + "; try again: "
                    + e.getMessage(), e);
        }
        try {
            commands.send(target, commands.envelope(s.id(), s.projectId(), Conductor.newRequestId())
                    .setDelete(Delete.getDefaultInstance()).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: the reverted move's target %s was not told to delete its copy: %s", s.id(),
                    target, e.getMessage());
        }
        placement.release(Conductor.migrationConsumer(s.id()));
        servers.setPendingFlavor(s.id(), Optional.empty());
        migrations.settle(s.id(), Migration.Status.REVERTED);
        conductor.hostsChanged();
        LOG.infof("instance %s request %s: move %s -> %s reverted", s.id(), request, source, target);
    }

    /**
     * Confirms every resize or move that has waited in VERIFY_RESIZE longer than {@code window}
     * (Nova's resize_confirm_window); a zero window never confirms on its own.
     */
    public void confirmOverdue(Duration window, Clock clock) {
        if (window.isZero()) {
            return;
        }
        for (Server s : servers.awaitingConfirmSince(clock.instant().minus(window))) {
            Optional<Flavor> pending = s.pendingFlavorId().flatMap(flavors::byId);
            if (pending.isEmpty()) {
                continue;
            }
            try {
                confirmResize(s, pending.get());
                LOG.infof("instance %s: resize confirmed automatically after %s in VERIFY_RESIZE", s.id(), window);
            } catch (ComputeException e) {
                LOG.warnf("instance %s: automatic confirm failed: %s", s.id(), e.getMessage());
            }
        }
    }

    /**
     * Deletes a server. One that never reached a host, or whose host is down, is deleted here at
     * once (Nova's local delete); the host still gets the command for when it comes back. A move
     * under way is aborted and recorded as failed; one that waits for confirm is confirmed, as
     * Nova does, and its source deletes the copy it kept.
     */
    public void delete(Server s) {
        String request = Conductor.newRequestId();
        if (!servers.startDelete(s.id(), request)) {
            return;
        }
        conductor.endMovesForDelete(s);
        if (s.host().isEmpty() || !conductor.hostUp(s.host().get())) {
            conductor.release(s);
            if (servers.markDeleted(s.id())) {
                conductor.serverDeleted(s.id());
            }
        }
        s.host().ifPresent(host -> {
            try {
                commands.send(host, commands.envelope(s.id(), s.projectId(), request)
                        .setDelete(Delete.getDefaultInstance()).build());
            } catch (DispatchException e) {
                LOG.warnf("instance %s: delete not sent to %s: %s", s.id(), host, e.getMessage());
                servers.abandonTask(s.id(), request, new Server.Fault("DispatchFailed", e.getMessage()));
                throw new ServiceUnavailable("the delete could not be handed to host " + host + "; try again: "
                        + e.getMessage(), e);
            }
        });
    }

    private void run(Server s, InstanceTransition t, Consumer<CommandEnvelope.Builder> command) {
        String action = t.apiName();
        String host = StateCheck.hostOf(s, action);
        String request = StateCheck.startTask(servers, s, action, t.task(), t.fromStates());
        CommandEnvelope.Builder b = commands.envelope(s.id(), s.projectId(), request);
        command.accept(b);
        try {
            commands.send(host, b.build());
        } catch (DispatchException e) {
            servers.abandonTask(s.id(), request, new Server.Fault("DispatchFailed", e.getMessage()));
            throw new ServiceUnavailable("'" + action + "' could not be handed to host " + host + "; try again: "
                    + e.getMessage(), e);
        }
        LOG.infof("instance %s request %s: %s sent to %s", s.id(), request, action, host);
    }
}
