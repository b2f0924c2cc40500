package io.stratus.agent.command;

import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * How moves end on this host, each on its own: a source's live migration or disk copy that
 * finished or failed, and a target's arrivals. Each runs under its instance's lock, after the
 * command that started the move has returned.
 */
final class MoveCompletions {
    private static final Logger LOG = Logger.getLogger(MoveCompletions.class);

    private final AgentStore store;
    private final GuestSupervisor guests;
    private final InstanceJournal journal;
    private final InstanceLocks locks;

    MoveCompletions(AgentStore store, GuestSupervisor guests, InstanceJournal journal, InstanceLocks locks) {
        this.store = store;
        this.guests = guests;
        this.journal = journal;
        this.locks = locks;
    }

    /** Source side: the live migration ended; {@code failure} says why it failed, or is null. */
    void liveMigrationEnded(CommandEnvelope env, LiveMigrate command, String failure) {
        locks.with(env.getInstanceId(), () -> stillHere(env).ifPresent(now -> {
            String req = env.getRequestId();
            if (failure != null) {
                LOG.warnf("instance %s: live migration %s to %s failed, the guest runs on here: %s", now.id(),
                        command.getMigrationId(), command.getTargetHost(), failure);
                InstanceRecord told = now.with(InstanceState.ACTIVE, TaskState.NONE)
                        .withFault(Optional.of(Faults.of("MigrationFailed", "live migration to "
                                + command.getTargetHost() + " failed: " + failure)))
                        .withSequence(now.sequence() + 1).withPendingRequest(Optional.empty());
                // The fault belongs to the event; the instance itself is fine.
                journal.finishAs(told.withFault(Optional.empty()), told, req,
                        e -> e.setMigrationId(command.getMigrationId()));
                return;
            }
            guests.forget(now);
            InstanceRecord gone = now.with(InstanceState.DELETED, TaskState.NONE).withSequence(now.sequence() + 1)
                    .withPendingRequest(Optional.empty());
            // The request's answer: the instance runs on the target now.
            journal.finishAs(gone, gone.with(InstanceState.ACTIVE, TaskState.NONE), req,
                    e -> e.setHost(command.getTargetHost()).setMigrationId(command.getMigrationId()));
        }));
    }

    /** The move's instance, unless it was deleted while it moved (the delete's answer stands). */
    private Optional<InstanceRecord> stillHere(CommandEnvelope env) {
        return store.find(env.getInstanceId()).filter(r -> r.state() != InstanceState.DELETED);
    }

    /** Source side of a cold move: the disk copy ended; {@code failure} says why it failed, or is null. */
    void diskMoveEnded(CommandEnvelope env, MigrateDisk command, InstanceState before, String failure) {
        locks.with(env.getInstanceId(), () -> stillHere(env).ifPresent(now -> {
            String req = env.getRequestId();
            if (failure != null) {
                LOG.warnf("instance %s: cold move %s to %s failed, the instance stays here: %s", now.id(),
                        command.getMigrationId(), command.getTargetHost(), failure);
                InstanceRecord back = now.with(before, TaskState.NONE);
                Fault fault = Faults.of("MigrationFailed", "moving to " + command.getTargetHost() + " failed: "
                        + failure);
                if (before == InstanceState.ACTIVE) {
                    try {
                        guests.launch(back);
                    } catch (RuntimeException e) {
                        back = back.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN);
                        fault = Faults.of("MigrationFailed", fault.getMessage() + "; starting it here again failed: "
                                + e.getMessage());
                    }
                }
                InstanceRecord next = back.withSequence(now.sequence() + 1).withPendingRequest(Optional.empty())
                        .withFault(back.state() == InstanceState.ERROR ? Optional.of(fault) : Optional.empty());
                Fault told = fault;
                journal.finishAs(next, next, req, e -> e.setFault(told).setMigrationId(command.getMigrationId()));
                return;
            }
            // Kept, stopped, in its state before the move: what a revert brings back.
            InstanceRecord kept = now.with(before, TaskState.RESIZE_MIGRATED).withSequence(now.sequence() + 1)
                    .withPendingRequest(Optional.empty());
            // The event tells where the instance is now: on the target, running there if it ran here.
            journal.finishAs(kept.withPower(PowerState.POWER_SHUTDOWN), kept.with(InstanceState.VERIFY_RESIZE,
                    TaskState.NONE), req, e -> e.setHost(command.getTargetHost())
                    .setMigrationId(command.getMigrationId()));
        }));
    }

    /** Target side of a cold move: the disk is here; the instance waits for confirm or revert. */
    void coldMoveArrived(InstanceRecord rec, String migrationId, boolean start, long sourceSequence) {
        locks.with(rec.id(), () -> {
            InstanceRecord here = rec.with(InstanceState.VERIFY_RESIZE, TaskState.NONE)
                    .withSequence(sourceSequence + 1).withPendingRequest(Optional.empty());
            Optional<Fault> fault = Optional.empty();
            if (start) {
                try {
                    guests.launch(here);
                    here = here.withLaunchedAt(journal.now());
                } catch (RuntimeException e) {
                    LOG.errorf("instance %s: moved here by %s, but its guest does not start: %s", rec.id(),
                            migrationId, e.getMessage());
                    here = here.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN);
                    fault = Optional.of(Faults.of(e));
                }
            }
            journal.record(here.withFault(fault), e -> e.setMigrationId(migrationId));
        });
    }

    /** Target side: a migrated guest runs here now; the instance is this host's from here on. */
    void liveMigrationArrived(InstanceRecord rec, String migrationId, VirtualGuest guest, long sourceSequence) {
        locks.with(rec.id(), () -> {
            guests.adopt(rec.id(), guest);
            // Above the source's last event: consumers order this host's events after the source's.
            InstanceRecord here = rec.with(InstanceState.ACTIVE, TaskState.NONE).withLaunchedAt(journal.now())
                    .withSequence(sourceSequence + 1).withPendingRequest(Optional.empty());
            journal.record(here, e -> e.setMigrationId(migrationId));
        });
    }
}
