package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.selection.Hypervisor;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A live migration (Nova's {@code LiveMigrationTask}): the target is claimed next to the source's
 * claim, told to get ready, and the source to send the running guest. On the target's word that
 * the guest arrived, the server is the target's and the target's claim replaces the source's; on
 * the source's failure the guest runs on there and the target's claim goes back.
 */
final class LiveMigrationTask implements MoveTask {
    private static final Logger LOG = Logger.getLogger(LiveMigrationTask.class);

    private final ServerStore servers;
    private final MigrationStore migrations;
    private final Scheduling scheduling;
    private final MoveTargets targets;
    private final HostCommands commands;
    private final TaskRunner runner;
    private final ServerVolumes volumes;

    LiveMigrationTask(ServerStore servers, MigrationStore migrations, Scheduling scheduling, MoveTargets targets,
                      HostCommands commands, TaskRunner runner, ServerVolumes volumes) {
        this.volumes = volumes;
        this.servers = servers;
        this.migrations = migrations;
        this.scheduling = scheduling;
        this.targets = targets;
        this.commands = commands;
        this.runner = runner;
    }

    @Override
    public TaskState task() {
        return TaskState.MIGRATING_LIVE;
    }

    @Override
    public String describe() {
        return "live migration";
    }

    /**
     * Starts a live migration of an ACTIVE server to {@code targetHost}, or to the best host the
     * filters and weighers find among the others. Both commands carry one fresh token: the target
     * admits only the source that presents it. Both hosts' drivers must be able to live-migrate
     * ({@link Hypervisor#LIVE_MIGRATION}); a host named that cannot is refused with Nova's
     * "Migration pre-check error".
     *
     * @param maxDowntimeMs the longest switch-over pause, 0 for the agents' default
     * @return the target host
     */
    String start(Server s, Optional<String> targetHost, int maxDowntimeMs) {
        if (s.vmState() != InstanceState.ACTIVE || s.taskState() != TaskState.NONE) {
            throw InstanceInvalidState.of(s, "os-migrateLive", "; live migration needs ACTIVE");
        }
        // A guest with volumes needs drivers that open them again on the target instead of copying them.
        Transfer transfer = volumes.any(s.id()) ? Transfer.LIVE_WITH_VOLUMES : Transfer.LIVE;
        MoveTargets.Move move = targets.claim(s, "os-migrateLive", transfer, targetHost, Optional.empty(),
                task(), InstanceState.ACTIVE);
        migrations.start(move.requestId(), s, Migration.Type.LIVE_MIGRATION, move.source(), move.target(),
                s.flavorId(), Migration.Status.RUNNING);
        runner.dispatch(this, s, move.requestId(), "the move of " + s.id() + " could not be handed to the hosts",
                () -> {
                    commands.send(move.target(), commands.envelope(s.id(), s.projectId(), move.requestId())
                            .setPrepareMigrationTarget(PrepareMigrationTarget.newBuilder()
                                    .setMigrationId(move.requestId()).setSourceHost(move.source())
                                    .setInstance(move.boot()).setToken(move.token())).build());
                    commands.send(move.source(), commands.envelope(s.id(), s.projectId(), move.requestId())
                            .setLiveMigrate(LiveMigrate.newBuilder().setMigrationId(move.requestId())
                                    .setTargetHost(move.target()).setTargetAddress(move.address())
                                    .setToken(move.token()).setMaxDowntimeMs(maxDowntimeMs)).build());
                });
        LOG.infof("instance %s request %s: live migration %s -> %s started; %s", s.id(), move.requestId(),
                move.source(), move.target(), move.decision());
        return move.target();
    }

    /**
     * The end of a live migration, reported by the target (the guest arrived) or the source (the
     * request's answer, a failure).
     */
    @Override
    public Progress follow(Server s, InstanceEvent e) {
        String source = s.host().orElse("");
        if (!e.getHost().equals(source) && e.getState() == InstanceState.ACTIVE && !e.hasFault()) {
            if (servers.moveTo(s.id(), s.requestId(), e.getHost())) {
                targets.follow(s.id(), e.getHost());
                migrations.advance(s.requestId(), Migration.Status.RUNNING, Migration.Status.COMPLETED);
                scheduling.transfer(s.id(), Conductor.migrationConsumer(s.id()));
                scheduling.reread(source);
                scheduling.reread(e.getHost());
                LOG.infof("instance %s request %s: live-migrated from %s to %s", s.id(), s.requestId(), source,
                        e.getHost());
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
    }
}
