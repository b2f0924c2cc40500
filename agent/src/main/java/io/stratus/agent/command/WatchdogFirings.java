package io.stratus.agent.command;

import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.WatchdogAction;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * A guest's watchdog fired (it stopped feeding the device): the action its boot spec names is
 * taken here, not by the hypervisor, so that each firing is recorded, published as an event that
 * carries the action (the control plane lists it as an instance action) and counted. Runs under
 * the instance's lock, like a command.
 */
final class WatchdogFirings {
    private static final Logger LOG = Logger.getLogger(WatchdogFirings.class);

    private final AgentStore store;
    private final GuestSupervisor guests;
    private final InstanceJournal journal;
    private final InstanceLocks locks;
    private final Map<WatchdogAction, AtomicLong> fired = new EnumMap<>(WatchdogAction.class);

    WatchdogFirings(AgentStore store, GuestSupervisor guests, InstanceJournal journal, InstanceLocks locks) {
        this.store = store;
        this.guests = guests;
        this.journal = journal;
        this.locks = locks;
        for (WatchdogAction a : WatchdogAction.values()) {
            if (a != WatchdogAction.UNRECOGNIZED) {
                fired.put(a, new AtomicLong());
            }
        }
    }

    /** How many firings this agent handled with {@code action}. */
    long fired(WatchdogAction action) {
        AtomicLong n = fired.get(action);
        return n == null ? 0 : n.get();
    }

    void fired(Guest guest) {
        locks.with(guest.instanceId(), () -> take(guest));
    }

    private void take(Guest guest) {
        String id = guest.instanceId();
        Optional<InstanceRecord> found = store.find(id);
        // A firing of a run that has ended since (stopped, deleted, moved) is nobody's to act on.
        if (found.isEmpty() || guests.running(id).filter(g -> g == guest).isEmpty()) {
            return;
        }
        InstanceRecord rec = found.get();
        WatchdogAction action = rec.boot().getWatchdogAction();
        if (action == WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED || action == WatchdogAction.UNRECOGNIZED) {
            // A device the spec did not ask for cannot fire; a driver that says so is wrong, not the guest.
            LOG.warnf("instance %s: a watchdog fired that its spec does not have; ignored", id);
            return;
        }
        LOG.infof("instance %s: its watchdog fired; action %s", id, action);
        InstanceRecord next = rec;
        try {
            switch (action) {
                case WATCHDOG_RESET -> {
                    // As a PC's watchdog resets it: the guest boots again, in a fresh VM.
                    guests.stop(id);
                    guests.launch(rec);
                }
                case WATCHDOG_POWEROFF -> {
                    guests.stop(id);
                    next = rec.with(InstanceState.SHUTOFF, TaskState.NONE);
                }
                case WATCHDOG_PAUSE -> {
                    guest.machine().pause();
                    next = rec.with(InstanceState.PAUSED, TaskState.NONE);
                }
                default -> {
                    // WATCHDOG_NONE: told and counted, the guest left as it is.
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warnf("instance %s: interrupted while taking watchdog action %s", id, action);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: watchdog action %s failed", id, action);
            // A guest that still runs keeps its state; one that was stopped and could not boot again is failed.
            next = guests.running(id).isPresent() ? rec
                    : rec.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN)
                            .withFault(Optional.of(Faults.of(e)));
        }
        fired.get(action).incrementAndGet();
        journal.record(next.withSequence(next.sequence() + 1), e -> e.setWatchdogFired(action));
    }
}
