package io.stratus.scheduler.conductor;

import com.google.protobuf.Timestamp;
import io.stratus.proto.v1.AbortMigration;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.scheduler.compute.Server;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
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
                .setIssuedAt(timestamp(now)).setDeadline(timestamp(now.plus(taskTimeout)));
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
     * Tells the source of the server's move under way to stop it: the guest runs on there, and
     * the target drops what it received when the stream ends.
     */
    void abortMove(Server s, String source) {
        try {
            send(source, envelope(s.id(), s.projectId(), Conductor.newRequestId()).setAbortMigration(
                    AbortMigration.newBuilder().setMigrationId(s.requestId())).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: could not tell %s to abort move %s: %s", s.id(), source, s.requestId(),
                    e.getMessage());
        }
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
