package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.AbortMigration;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * What the control plane tells hosts: commands in envelopes that are valid for the task timeout
 * (an agent drops one that arrives later), and the clean-ups whose failure only costs a host some
 * room until it hears of them again.
 */
public final class HostCommands {
    private static final Logger LOG = Logger.getLogger(HostCommands.class);

    private final CommandSender sender;
    private final Clock clock;
    private final Duration taskTimeout;

    public HostCommands(CommandSender sender, Clock clock, Duration taskTimeout) {
        this.sender = sender;
        this.clock = clock;
        this.taskTimeout = taskTimeout;
    }

    /** An envelope for a command of {@code requestId}, valid for the task timeout. */
    public CommandEnvelope.Builder envelope(String instanceId, String tenantId, String requestId) {
        Instant now = clock.instant();
        return CommandEnvelope.newBuilder().setRequestId(requestId).setInstanceId(instanceId).setTenantId(tenantId)
                .setIssuedAt(ProtoTime.timestamp(now)).setDeadline(ProtoTime.timestamp(now.plus(taskTimeout)));
    }

    /** @throws DispatchException the bus did not take the command */
    public void send(String host, CommandEnvelope command) {
        sender.send(host, command);
    }

    /** Tells a host to drop an instance it no longer runs for us; the host may be gone. */
    void cleanUp(Server s, String host) {
        try {
            send(host, envelope(s.id(), s.projectId(), Conductor.newRequestId()).setDelete(Delete.getDefaultInstance())
                    .build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: could not ask %s to clean up: %s", s.id(), host, e.getMessage());
        }
    }

    /**
     * Stops the server's move under way at its source (the guest runs on there) and at its
     * target, {@code migrations} saying which: a target whose stream never began would otherwise
     * keep what it prepared (Nova's rollback_live_migration_at_destination).
     */
    void abortMove(Server s, MigrationStore migrations) {
        s.host().ifPresent(source -> abortMove(s, source));
        migrations.find(s.requestId()).map(Migration::destHost).filter(target -> !s.host().equals(Optional.of(target)))
                .ifPresent(target -> abortMove(s, target));
    }

    /** Tells {@code host}, a side of the server's move under way, to stop it. */
    void abortMove(Server s, String host) {
        try {
            send(host, envelope(s.id(), s.projectId(), Conductor.newRequestId()).setAbortMigration(
                    AbortMigration.newBuilder().setMigrationId(s.requestId())).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: could not tell %s to abort move %s: %s", s.id(), host, s.requestId(),
                    e.getMessage());
        }
    }
}
