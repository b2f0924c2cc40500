package io.stratus.agent.lifecycle;

import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Brings the host's guests back when the agent starts and puts them away when it stops.
 * Under the kvm driver guests live in the agent's JVM, so an agent that ends takes them along: a
 * graceful stop snapshots each one and the next start restores it where it was (its uptime goes
 * on); after a crash there is no snapshot, and the guests that should run are booted again. Under
 * the qemu driver guests run on in their own processes and the next start watches them again. Every instance the
 * restart touched gets an event saying where it stands.
 */
public final class InstanceRecovery {
    private static final Logger LOG = Logger.getLogger(InstanceRecovery.class);
    private final AgentStore store;
    private final GuestSupervisor guests;
    private final CommandHandler handler;

    public InstanceRecovery(AgentStore store, GuestSupervisor guests, CommandHandler handler) {
        this.store = store;
        this.guests = guests;
        this.handler = handler;
    }

    /**
     * Restores or reboots every instance that should run, but those {@code heldBack} (a Delete for
     * them waits: {@link BacklogFence}); returns how many run afterwards.
     */
    public int recover(Set<String> heldBack) {
        int running = 0;
        for (InstanceRecord rec : store.all()) {
            if (rec.state() == InstanceState.DELETED || heldBack.contains(rec.id())) {
                continue;
            }
            try {
                if (recover(rec)) {
                    running++;
                }
            } catch (RuntimeException e) {
                LOG.errorf(e, "instance %s: recovery failed", rec.id());
            }
        }
        return running;
    }

    private boolean recover(InstanceRecord rec) {
        if (rec.task() == TaskState.RESIZE_MIGRATED) {
            // A cold move's source copy: it stays stopped until the move is confirmed or reverted.
            return false;
        }
        if (guests.driver().capabilities().guestsOutliveAgent()) {
            Optional<Guest> running = guests.reattach(rec);
            if (running.isPresent() && !rec.meantToRun()) {
                // Its stop was under way when the agent ended: it ends now, as the record says.
                guests.stop(rec.id());
            } else if (running.isPresent()) {
                boolean paused = running.get().paused();
                InstanceState state = paused ? InstanceState.PAUSED : switch (rec.state()) {
                    case BUILD, REBOOT, RESIZE -> InstanceState.ACTIVE;
                    default -> rec.state();
                };
                handler.publishChange(rec.with(state, TaskState.NONE).withPower(paused ? PowerState.POWER_PAUSED
                        : PowerState.POWER_RUNNING).withSnapshotted(false));
                LOG.infof("instance %s: its guest ran on while the agent was away; watching it again", rec.id());
                return true;
            }
        }
        Path snapshot = guests.snapshotDir(rec.id());
        if (rec.snapshotted()) {
            InstanceState state = rec.state() == InstanceState.RESIZE ? InstanceState.ACTIVE : rec.state();
            try {
                guests.restore(rec, snapshot, state == InstanceState.PAUSED);
                handler.publishChange(rec.with(state, TaskState.NONE).withPower(state == InstanceState.PAUSED
                        ? PowerState.POWER_PAUSED : PowerState.POWER_RUNNING).withSnapshotted(false));
                LOG.infof("instance %s: restored from the snapshot taken when the agent stopped", rec.id());
                return true;
            } catch (RuntimeException e) {
                LOG.errorf("instance %s: its snapshot cannot be restored (%s); booting it again", rec.id(),
                        e.getMessage());
                rec = rec.withSnapshotted(false);
            } finally {
                // A restored guest maps its memory file: deleting the name leaves the pages to the VM.
                guests.discardSnapshot(rec.id());
            }
        }
        if (!rec.meantToRun()) {
            if (rec.state() == InstanceState.RESIZE) {
                // A stopped guest's resize that did not finish: it stays stopped, at the old size.
                handler.publishChange(rec.withResources(rec.previousResources().orElse(rec.resources()),
                        Optional.empty()).with(InstanceState.SHUTOFF, TaskState.NONE).withSnapshotted(false));
            } else if (rec.task() != TaskState.NONE || rec.snapshotted()) {
                // A command was under way; its redelivery finishes it from the settled state.
                handler.publishChange(rec.with(rec.state(), TaskState.NONE).withSnapshotted(false));
            }
            return false;
        }
        InstanceRecord target = rec;
        InstanceState state = InstanceState.ACTIVE;
        if (rec.state() == InstanceState.RESIZE) {
            // The resize did not finish: the old size is the one the guest had.
            target = rec.withResources(rec.previousResources().orElse(rec.resources()), Optional.empty());
        } else if (rec.state() == InstanceState.VERIFY_RESIZE) {
            state = InstanceState.VERIFY_RESIZE;
        }
        try {
            guests.launch(target);
            InstanceRecord booted = target.with(state, TaskState.NONE).withPower(PowerState.POWER_RUNNING)
                    .withFault(Optional.empty());
            if (booted.launchedAt().isEmpty()) {
                booted = booted.withLaunchedAt(Instant.now());
            }
            handler.publishChange(booted);
            LOG.infof("instance %s: booted again after the agent ended without saving it", rec.id());
            return true;
        } catch (RuntimeException e) {
            Fault fault = Fault.newBuilder().setCode("RecoveryFailed").setMessage("the guest could not be booted"
                    + " again after the agent restarted: " + e.getMessage()).build();
            handler.publishChange(target.with(InstanceState.ERROR, TaskState.NONE)
                    .withPower(PowerState.POWER_SHUTDOWN).withFault(Optional.of(fault)));
            return false;
        }
    }

    /** Snapshots every running guest (graceful stop); returns how many were saved. */
    public int saveAll() {
        int saved = 0;
        for (String id : guests.all().keySet()) {
            Optional<InstanceRecord> rec = store.find(id);
            try {
                guests.discardSnapshot(id);
                guests.snapshot(id, guests.snapshotDir(id));
                if (rec.isPresent()) {
                    handler.publishChange(rec.get().with(rec.get().state(), TaskState.SNAPSHOTTING)
                            .withSnapshotted(true));
                }
                saved++;
            } catch (IOException | RuntimeException e) {
                LOG.errorf("instance %s: not saved on agent stop (%s); it will boot again", id, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                LOG.errorf("instance %s: interrupted while saving it", id);
            } finally {
                guests.stop(id);
            }
        }
        return saved;
    }
}
