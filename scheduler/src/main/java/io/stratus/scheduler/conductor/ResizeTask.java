package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resize;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InvalidRequest;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A resize on the server's host: the new size is claimed there first, next to the old one, which
 * stays held until the resize is confirmed; a host without room, or disabled by its operator or
 * its agent, moves the server instead ({@link ColdMigrationTask}). When the host refuses the
 * resize, the new size's claim goes back.
 */
final class ResizeTask implements MoveTask {
    private static final Logger LOG = Logger.getLogger(ResizeTask.class);

    private final ServerStore servers;
    private final MigrationStore migrations;
    private final Scheduling scheduling;
    private final HostCommands commands;
    private final TaskRunner runner;
    private final ColdMigrationTask elsewhere;

    ResizeTask(ServerStore servers, MigrationStore migrations, Scheduling scheduling, HostCommands commands,
               TaskRunner runner, ColdMigrationTask elsewhere) {
        this.servers = servers;
        this.migrations = migrations;
        this.scheduling = scheduling;
        this.commands = commands;
        this.runner = runner;
        this.elsewhere = elsewhere;
    }

    @Override
    public TaskState task() {
        return TaskState.RESIZE_PREP;
    }

    @Override
    public String describe() {
        return "resize";
    }

    /** Resizes {@code s} to {@code to}, on its host or, without room there, on another. */
    void start(Server s, Flavor to) {
        if (to.id().equals(s.flavorId())) {
            throw new InvalidRequest("the server already has flavor " + to.name() + "; resize to another one");
        }
        String host = StateCheck.hostOf(s, "resize");
        String consumer = Conductor.resizeConsumer(s.id());
        scheduling.release(consumer);
        if (!scheduling.claimOn(consumer, BootRecipe.claim(s, to), host)) {
            LOG.infof("instance %s: host %s cannot take flavor %s next to its current size; moving it", s.id(), host,
                    to.name());
            elsewhere.start(s, "resize", to, Optional.empty());
            return;
        }
        servers.setPendingFlavor(s.id(), Optional.of(to.id()));
        String request;
        try {
            request = StateCheck.startTask(servers, s, "resize", task(), InstanceState.ACTIVE,
                    InstanceState.SHUTOFF);
        } catch (RuntimeException e) {
            scheduling.release(consumer);
            servers.setPendingFlavor(s.id(), Optional.empty());
            throw e;
        }
        // Nova records a resize on the same host as a migration too: os-migrations lists every resize.
        migrations.start(request, s, Migration.Type.RESIZE, host, host, to.id(), Migration.Status.MIGRATING);
        runner.dispatch(this, s, request, "'resize' could not be handed to host " + host,
                () -> commands.send(host, commands.envelope(s.id(), s.projectId(), request)
                        .setResize(Resize.newBuilder().setFlavor(to.name())
                                .setResources(BootRecipe.resources(to.vcpus(), to.ramMib(),
                                        BootRecipe.localDiskGib(s, to))))
                        .build()));
        LOG.infof("instance %s request %s: %s sent to %s", s.id(), request, "resize", host);
    }

    /**
     * An answer of the server's host to its own request: a refused resize (a fault, with a size
     * pending and the server not waiting for confirm) fails; one done waits for confirm.
     */
    @Override
    public Progress follow(Server s, InstanceEvent e) {
        if (e.hasFault() && s.pendingFlavorId().isPresent() && s.vmState() != InstanceState.VERIFY_RESIZE
                && e.getState() != InstanceState.VERIFY_RESIZE) {
            return new Progress.Failed(new Server.Fault(e.getFault().getCode(), e.getFault().getMessage()));
        }
        if (e.getState() == InstanceState.VERIFY_RESIZE && !e.hasFault()) {
            // A resize on the same host is done (a cold move's record moved on when it arrived).
            migrations.advance(e.getRequestId(), Migration.Status.MIGRATING, Migration.Status.FINISHED);
            return new Progress.Arrived(s);
        }
        return Progress.PENDING;
    }

    /** Nothing to stop: the host finishes or refuses on its own, and drops a command past its deadline. */
    @Override
    public void stop(Server s) {
    }

    @Override
    public void rollback(Server s, String requestId, Server.Fault why) {
        scheduling.release(Conductor.resizeConsumer(s.id()));
        servers.setPendingFlavor(s.id(), Optional.empty());
        migrations.fail(requestId, why);
    }
}
