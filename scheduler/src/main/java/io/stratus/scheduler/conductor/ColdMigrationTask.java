package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.selection.Hypervisor;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A cold move of an ACTIVE or SHUTOFF server to another host (Nova's {@code MigrationTask}): its
 * migrate (same flavor) or a resize that its host has no room for. The target is claimed with the
 * new size; the source stops the guest and sends its disk; the target boots it (if it ran) and
 * the server waits in VERIFY_RESIZE for confirm or revert, with the source's copy kept until
 * then. On the source's failure the instance stays there, and the target's claim and the pending
 * flavor go.
 */
final class ColdMigrationTask implements MoveTask {
    private static final Logger LOG = Logger.getLogger(ColdMigrationTask.class);

    private final ServerStore servers;
    private final MigrationStore migrations;
    private final Scheduling scheduling;
    private final MoveTargets targets;
    private final HostCommands commands;
    private final TaskRunner runner;

    ColdMigrationTask(ServerStore servers, MigrationStore migrations, Scheduling scheduling, MoveTargets targets,
                      HostCommands commands, TaskRunner runner) {
        this.servers = servers;
        this.migrations = migrations;
        this.scheduling = scheduling;
        this.targets = targets;
        this.commands = commands;
        this.runner = runner;
    }

    @Override
    public TaskState task() {
        return TaskState.RESIZE_MIGRATING;
    }

    @Override
    public String describe() {
        return "cold move";
    }

    /**
     * Starts the move ({@code action} "migrate" or "resize") to {@code targetHost} or the best
     * host found. Both hosts' drivers must be able to copy the disk
     * ({@link Hypervisor#COLD_MIGRATION}).
     *
     * @return the target host
     */
    String start(Server s, String action, Flavor to, Optional<String> targetHost) {
        if ((s.vmState() != InstanceState.ACTIVE && s.vmState() != InstanceState.SHUTOFF)
                || s.taskState() != TaskState.NONE) {
            throw InstanceInvalidState.of(s, action, "; it must be ACTIVE or SHUTOFF");
        }
        MoveTargets.Move move = targets.claim(s, action, Transfer.COLD, targetHost, Optional.of(to), task(),
                InstanceState.ACTIVE, InstanceState.SHUTOFF);
        servers.setPendingFlavor(s.id(), Optional.of(to.id()));
        migrations.start(move.requestId(), s, action.equals("resize") ? Migration.Type.RESIZE
                : Migration.Type.MIGRATION, move.source(), move.target(), to.id(), Migration.Status.MIGRATING);
        runner.dispatch(this, s, move.requestId(), "the move of " + s.id() + " could not be handed to the hosts",
                () -> {
                    commands.send(move.target(), commands.envelope(s.id(), s.projectId(), move.requestId())
                            .setPrepareMigrationTarget(PrepareMigrationTarget.newBuilder()
                                    .setMigrationId(move.requestId()).setSourceHost(move.source())
                                    .setInstance(move.boot()).setToken(move.token()).setCold(true)
                                    .setStart(s.vmState() == InstanceState.ACTIVE)).build());
                    commands.send(move.source(), commands.envelope(s.id(), s.projectId(), move.requestId())
                            .setMigrateDisk(MigrateDisk.newBuilder().setMigrationId(move.requestId())
                                    .setTargetHost(move.target()).setTargetAddress(move.address())
                                    .setToken(move.token())).build());
                });
        LOG.infof("instance %s request %s: %s %s -> %s (flavor %s) started; %s", s.id(), move.requestId(), action,
                move.source(), move.target(), to.name(), move.decision());
        return move.target();
    }

    /**
     * The end of a cold move: on success the server is the target's, waiting in VERIFY_RESIZE
     * with the source remembered; a failure is reported by the source, where the instance stays.
     */
    @Override
    public Progress follow(Server s, InstanceEvent e) {
        String source = s.host().orElse("");
        if (!e.getHost().equals(source) && e.getState() == InstanceState.VERIFY_RESIZE && !e.hasFault()) {
            if (servers.moveForResize(s.id(), s.requestId(), e.getHost(), source)) {
                targets.follow(s.id(), e.getHost());
                migrations.advance(s.requestId(), Migration.Status.MIGRATING, Migration.Status.FINISHED);
                scheduling.reread(source);
                scheduling.reread(e.getHost());
                LOG.infof("instance %s request %s: moved cold from %s to %s; waiting for confirm or revert", s.id(),
                        s.requestId(), source, e.getHost());
            }
            return new Progress.Arrived(servers.find(s.id()).orElse(s));
        }
        if (e.getHost().equals(source) && e.hasFault()) {
            return new Progress.Failed(new Server.Fault(e.getFault().getCode(), e.getFault().getMessage()));
        }
        return Progress.PENDING;
    }

    @Override
    public void stop(Server s) {
        commands.abortMove(s, migrations);
    }

    @Override
    public void rollback(Server s, String requestId, Server.Fault why) {
        migrations.fail(requestId, why);
        scheduling.release(Conductor.migrationConsumer(s.id()));
        scheduling.invalidate();
        servers.setPendingFlavor(s.id(), Optional.empty());
    }
}
