package io.stratus.agent.command;

import com.google.protobuf.Timestamp;
import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.migration.LiveMigrations;
import io.stratus.agent.migration.MigrationTargets;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.store.StoreException;
import io.stratus.kvm.migration.MigrationResult;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmExit;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.Reboot;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Applies commands to this host's instances: the state machine of Nova's compute manager over
 * kvm-runtime guests. Each command ends in exactly one final event, recorded with the request it
 * answers in the same transaction as the instance record; a redelivered request is answered with
 * the recorded events again and changes nothing.
 *
 * <p>One command at a time (and guest exits in between): the agent's records have one writer.
 */
public final class CommandHandler {
    private static final Logger LOG = Logger.getLogger(CommandHandler.class);
    private static final Set<InstanceState> STOPPABLE = EnumSet.of(InstanceState.ACTIVE, InstanceState.ERROR);
    private static final Set<InstanceState> HARD_REBOOTABLE = EnumSet.of(InstanceState.ACTIVE, InstanceState.PAUSED,
            InstanceState.SHUTOFF, InstanceState.ERROR);
    private static final Set<InstanceState> RESIZABLE = EnumSet.of(InstanceState.ACTIVE, InstanceState.SHUTOFF);

    private final String host;
    private final AgentStore store;
    private final GuestSupervisor guests;
    private final Resources capacity;
    private final EventSink events;
    private final Clock clock;
    private final LiveMigrations migrations;
    private volatile Consumer<InstanceRecord> changes = r -> { };

    public CommandHandler(String host, AgentStore store, GuestSupervisor guests, Resources capacity, EventSink events,
                          Clock clock, LiveMigrations migrations) {
        this.host = host;
        this.store = store;
        this.guests = guests;
        this.capacity = capacity;
        this.events = events;
        this.clock = clock;
        this.migrations = migrations;
        guests.onExit(this::guestExited);
        migrations.targets().onArrival(new MigrationTargets.Arrival() {
            @Override
            public void arrived(InstanceRecord rec, String migrationId, VirtualMachine vm, long sourceSequence) {
                migrationArrived(rec, migrationId, vm, sourceSequence);
            }

            @Override
            public void arrivedCold(InstanceRecord rec, String migrationId, boolean start, long sourceSequence) {
                coldMoveArrived(rec, migrationId, start, sourceSequence);
            }
        });
    }

    /** Hears every record the handler writes (meters follow instances this way). */
    public void onRecordChange(Consumer<InstanceRecord> listener) {
        this.changes = listener;
    }

    /** Applies one valid envelope (the consumer has checked its shape). */
    public synchronized void handle(CommandEnvelope env) {
        String req = env.getRequestId();
        Optional<List<InstanceEvent>> earlier = store.appliedEvents(req);
        if (earlier.isPresent()) {
            LOG.infof("request %s for instance %s was applied before; answering again", req, env.getInstanceId());
            earlier.get().forEach(events::publish);
            return;
        }
        Optional<InstanceRecord> found = store.find(env.getInstanceId());
        boolean accepted = found.flatMap(InstanceRecord::pendingRequest).equals(Optional.of(req));
        // A deadline bounds when a command may start; one that started before a crash goes on. A
        // delete has none: the scheduler may have deleted the server already (its host was down),
        // and refused, it would leave a guest nobody accounts for.
        if (!accepted && env.hasDeadline() && env.getCommandCase() != CommandEnvelope.CommandCase.DELETE
                && instant(env.getDeadline()).isBefore(clock.instant())) {
            reject(env, found, Faults.of("CommandExpired", "the " + commandName(env) + " command passed its deadline "
                    + instant(env.getDeadline()) + " before host " + host + " received it"));
            return;
        }
        if (env.getCommandCase() == CommandEnvelope.CommandCase.BOOT) {
            boot(env, found);
            return;
        }
        if (env.getCommandCase() == CommandEnvelope.CommandCase.PREPARE_MIGRATION_TARGET) {
            prepareMigrationTarget(env, found);
            return;
        }
        if (env.getCommandCase() == CommandEnvelope.CommandCase.ABORT_MIGRATION) {
            // Either end: the source's stream stops (the guest runs on there), the target's drops.
            migrations.sources().abort(env.getAbortMigration().getMigrationId());
            migrations.targets().abort(env.getAbortMigration().getMigrationId());
            store.markApplied(req, env.getInstanceId(), List.of());
            return;
        }
        if (found.isEmpty() || found.get().state() == InstanceState.DELETED) {
            reject(env, found, Faults.of("InstanceNotFound", "instance " + env.getInstanceId() + " is not on host "
                    + host));
            return;
        }
        InstanceRecord rec = found.get();
        try {
            switch (env.getCommandCase()) {
                case STOP -> stop(env, rec);
                case START -> start(env, rec);
                case REBOOT -> reboot(env, rec);
                case PAUSE -> pause(env, rec);
                case UNPAUSE -> unpause(env, rec);
                case RESIZE -> resize(env, rec);
                case CONFIRM_RESIZE -> confirmResize(env, rec);
                case REVERT_RESIZE -> revertResize(env, rec);
                case DELETE -> delete(env, rec);
                case LIVE_MIGRATE -> liveMigrate(env, rec);
                case MIGRATE_DISK -> migrateDisk(env, rec);
                default -> reject(env, found, Faults.of("NotSupported", "host " + host + " does not run "
                        + commandName(env) + " commands yet"));
            }
        } catch (RuntimeException e) {
            // A failure in the middle of a command leaves the instance in ERROR with the reason, never the
            // agent down. Infrastructure failures (store, bus) are not caught here: the consumer retries them.
            if (e instanceof StoreException || e instanceof PublishException) {
                throw e;
            }
            LOG.errorf(e, "instance %s: %s (request %s) failed", rec.id(), commandName(env), req);
            InstanceRecord now = store.find(rec.id()).orElse(rec);
            finish(now.with(InstanceState.ERROR, TaskState.NONE).withFault(Optional.of(Faults.of(e))), req);
        }
    }

    private void boot(CommandEnvelope env, Optional<InstanceRecord> found) {
        String req = env.getRequestId();
        if (found.isPresent()) {
            InstanceRecord rec = found.get();
            if (rec.pendingRequest().equals(Optional.of(req))) {
                // This boot was under way when the agent died; the restart may already have booted the guest.
                if (guests.running(rec.id()).isPresent()) {
                    finish(rec.with(InstanceState.ACTIVE, TaskState.NONE), req);
                } else {
                    spawn(rec, req);
                }
                return;
            }
            reject(env, found, Faults.of("InstanceExists", "instance " + rec.id() + " already exists on host " + host
                    + " (" + rec.state() + "); instance ids are never reused"));
            return;
        }
        Optional<Fault> unfit = unfit(env.getBoot().getResources(), Optional.empty());
        if (unfit.isPresent()) {
            reject(env, found, unfit.get(), InstanceState.ERROR);
            return;
        }
        InstanceRecord rec = InstanceRecord.building(env.getInstanceId(), env.getTenantId(), env.getBoot(), req);
        spawn(emit(rec, req), req);
    }

    private void spawn(InstanceRecord rec, String req) {
        try {
            guests.launch(rec);
            finish(rec.with(InstanceState.ACTIVE, TaskState.NONE).withFault(Optional.empty())
                    .withLaunchedAt(clock.instant()), req);
        } catch (RuntimeException e) {
            LOG.errorf("instance %s: boot failed (request %s): %s", rec.id(), req, e.getMessage());
            finish(rec.with(InstanceState.ERROR, TaskState.NONE).withFault(Optional.of(Faults.of(e))), req);
        }
    }

    private void stop(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, STOPPABLE)) {
            return;
        }
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.POWERING_OFF), env.getRequestId());
        // No ACPI power button yet: the guest is stopped, not asked to shut down (the timeout is not used).
        guests.stop(r.id());
        finish(r.with(InstanceState.SHUTOFF, TaskState.NONE), env.getRequestId());
    }

    private void start(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, EnumSet.of(InstanceState.SHUTOFF))) {
            return;
        }
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.POWERING_ON), env.getRequestId());
        guests.launch(r);
        finish(r.with(InstanceState.ACTIVE, TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
    }

    private void reboot(CommandEnvelope env, InstanceRecord rec) {
        boolean hard = env.getReboot().getKind() == Reboot.Kind.HARD;
        if (!allowed(env, rec, hard ? HARD_REBOOTABLE : EnumSet.of(InstanceState.ACTIVE))) {
            return;
        }
        // A soft reboot needs the guest's cooperation (an ACPI power button, not there yet): both kinds
        // restart the VM, which a guest sees as a reset.
        InstanceRecord r = emit(rec.with(InstanceState.REBOOT, hard ? TaskState.REBOOTING_HARD
                : TaskState.REBOOTING), env.getRequestId());
        guests.stop(r.id());
        guests.launch(r);
        finish(r.with(InstanceState.ACTIVE, TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
    }

    private void pause(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, EnumSet.of(InstanceState.ACTIVE))) {
            return;
        }
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.PAUSING), env.getRequestId());
        Guest guest = guestOf(r);
        try {
            guest.vm().pause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pausing instance " + r.id(), e);
        }
        finish(r.with(InstanceState.PAUSED, TaskState.NONE), env.getRequestId());
    }

    private void unpause(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, EnumSet.of(InstanceState.PAUSED))) {
            return;
        }
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.UNPAUSING), env.getRequestId());
        guestOf(r).vm().resume();
        finish(r.with(InstanceState.ACTIVE, TaskState.NONE), env.getRequestId());
    }

    /** Cold resize on this host: the guest restarts with the new size and waits in VERIFY_RESIZE. */
    private void resize(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, RESIZABLE)) {
            return;
        }
        Resources wanted = env.getResize().getResources();
        Optional<Fault> unfit = unfit(wanted, Optional.of(rec.id()));
        if (unfit.isPresent()) {
            reject(env, Optional.of(rec), unfit.get());
            return;
        }
        boolean running = rec.state() == InstanceState.ACTIVE;
        InstanceRecord r = emit(rec.with(InstanceState.RESIZE, TaskState.RESIZE_PREP), env.getRequestId());
        guests.stop(r.id());
        r = emit(r.with(InstanceState.RESIZE, TaskState.RESIZE_FINISH).withResources(wanted,
                Optional.of(rec.resources())), env.getRequestId());
        if (running) {
            guests.launch(r);
        }
        finish(r.with(InstanceState.VERIFY_RESIZE, TaskState.NONE), env.getRequestId());
    }

    private void confirmResize(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, EnumSet.of(InstanceState.VERIFY_RESIZE))) {
            return;
        }
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.RESIZE_CONFIRMING), env.getRequestId());
        InstanceState after = guests.running(r.id()).isPresent() ? InstanceState.ACTIVE : InstanceState.SHUTOFF;
        finish(r.with(after, TaskState.NONE).withResources(r.resources(), Optional.empty()), env.getRequestId());
    }

    private void revertResize(CommandEnvelope env, InstanceRecord rec) {
        if (rec.task() == TaskState.RESIZE_MIGRATED) {
            // The source of a cold move: the instance runs here again as it was before the move.
            InstanceRecord r = emit(rec.with(rec.state(), TaskState.RESIZE_REVERTING), env.getRequestId());
            if (r.state() == InstanceState.ACTIVE) {
                guests.launch(r);
            }
            finish(r.with(r.state(), TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
            return;
        }
        if (!allowed(env, rec, EnumSet.of(InstanceState.VERIFY_RESIZE))) {
            return;
        }
        boolean running = guests.running(rec.id()).isPresent();
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.RESIZE_REVERTING), env.getRequestId());
        guests.stop(r.id());
        r = r.withResources(r.previousResources().orElse(r.resources()), Optional.empty());
        if (running) {
            guests.launch(r);
        }
        finish(r.with(running ? InstanceState.ACTIVE : InstanceState.SHUTOFF, TaskState.NONE), env.getRequestId());
    }

    private void delete(CommandEnvelope env, InstanceRecord rec) {
        InstanceRecord r = emit(rec.with(rec.state(), TaskState.DELETING), env.getRequestId());
        guests.forget(r.id());
        finish(r.with(InstanceState.DELETED, TaskState.NONE).withSnapshotted(false), env.getRequestId());
    }

    /**
     * Target side: gets ready to receive the instance. The answer comes on the migration's stream,
     * not the bus: the source's Hello is refused with the reason when this host cannot run it.
     */
    private void prepareMigrationTarget(CommandEnvelope env, Optional<InstanceRecord> found) {
        PrepareMigrationTarget p = env.getPrepareMigrationTarget();
        Optional<String> refusal = found.filter(r -> r.state() != InstanceState.DELETED)
                .map(r -> "instance " + r.id() + " is already on host " + host + " (" + r.state() + ")")
                .or(() -> unfit(p.getInstance().getResources(), Optional.empty()).map(Fault::getMessage));
        // A cold move of a stopped guest arrives stopped; everything else arrives running.
        PowerState power = p.getCold() && !p.getStart() ? PowerState.POWER_SHUTDOWN : PowerState.POWER_RUNNING;
        InstanceRecord rec = new InstanceRecord(env.getInstanceId(), env.getTenantId(), p.getInstance().getName(),
                InstanceState.ACTIVE, TaskState.NONE, power, p.getInstance().getResources(), Optional.empty(),
                p.getInstance(), Optional.empty(), Optional.empty(), 0, false, Optional.empty());
        if (refusal.isPresent()) {
            LOG.warnf("instance %s: migration %s from %s refused: %s", rec.id(), p.getMigrationId(),
                    p.getSourceHost(), refusal.get());
            migrations.targets().refuse(p.getMigrationId(), p.getToken(), p.getSourceHost(), rec, refusal.get());
        } else {
            migrations.targets().prepare(p.getMigrationId(), p.getToken(), p.getSourceHost(), rec, p.getCold(),
                    p.getStart());
        }
        store.markApplied(env.getRequestId(), env.getInstanceId(), List.of());
    }

    /**
     * Source side: moves the running guest to the target in the background (other commands go on
     * meanwhile); its end is this request's final event.
     */
    private void liveMigrate(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, EnumSet.of(InstanceState.ACTIVE))) {
            return;
        }
        Guest guest = guestOf(rec);
        LiveMigrate command = env.getLiveMigrate();
        InstanceRecord r = emit(rec.with(InstanceState.ACTIVE, TaskState.MIGRATING_LIVE), env.getRequestId());
        inBackground(r, command.getMigrationId(), () -> {
            MigrationResult result = migrations.sources().migrate(r.id(), guest.vm(), command, r.sequence() + 1);
            if (result.completed()) {
                LOG.infof("instance %s: live migration %s to %s completed: %s", r.id(), command.getMigrationId(),
                        command.getTargetHost(), result);
            }
            return result.abortedReason().map(a -> "the migration did not converge: " + a).orElse(null);
        }, failure -> migrationEnded(env, command, failure));
    }

    /** What a move does on its worker thread: returns why it failed, or null. */
    private interface MoveWork {
        String run() throws InterruptedException;
    }

    /** Runs a move off the command thread; {@code ended} hears why it failed, or null. */
    private void inBackground(InstanceRecord r, String migrationId, MoveWork work, Consumer<String> ended) {
        migrations.workers().execute(() -> {
            String failure;
            try {
                failure = work.run();
            } catch (InterruptedException e) {
                failure = "the move was aborted";
            } catch (RuntimeException e) {
                LOG.debugf(e, "instance %s: move %s failed", r.id(), migrationId);
                failure = e.getMessage();
            }
            ended.accept(failure);
        });
    }

    private synchronized void migrationEnded(CommandEnvelope env, LiveMigrate command, String failure) {
        String id = env.getInstanceId();
        String req = env.getRequestId();
        Optional<InstanceRecord> found = store.find(id);
        if (found.isEmpty() || found.get().state() == InstanceState.DELETED) {
            // Deleted while it moved: the delete's answer stands.
            return;
        }
        InstanceRecord now = found.get();
        if (failure != null) {
            LOG.warnf("instance %s: live migration %s to %s failed, the guest runs on here: %s", id,
                    command.getMigrationId(), command.getTargetHost(), failure);
            InstanceRecord next = now.with(InstanceState.ACTIVE, TaskState.NONE)
                    .withFault(Optional.of(Faults.of("MigrationFailed", "live migration to " + command.getTargetHost()
                            + " failed: " + failure))).withSequence(now.sequence() + 1)
                    .withPendingRequest(Optional.empty());
            InstanceEvent e = event(next, req, next.fault()).toBuilder().setMigrationId(command.getMigrationId()).build();
            // The fault belongs to the event; the instance itself is fine.
            next = next.withFault(Optional.empty());
            store.saveApplied(next, req, List.of(e));
            changes.accept(next);
            events.publish(e);
            return;
        }
        guests.forget(id);
        InstanceRecord gone = now.with(InstanceState.DELETED, TaskState.NONE).withSequence(now.sequence() + 1)
                .withPendingRequest(Optional.empty());
        // The request's answer: the instance runs on the target now.
        InstanceEvent e = event(gone.with(InstanceState.ACTIVE, TaskState.NONE), req, Optional.empty()).toBuilder()
                .setHost(command.getTargetHost()).setMigrationId(command.getMigrationId()).build();
        store.saveApplied(gone, req, List.of(e));
        changes.accept(gone);
        events.publish(e);
    }

    /**
     * Source side of a cold move (migrate, or resize to another host): the guest stops, its disk
     * goes to the target in the background, and the instance stays here, stopped, until the move
     * is confirmed (Delete) or reverted (RevertResize).
     */
    private void migrateDisk(CommandEnvelope env, InstanceRecord rec) {
        if (!allowed(env, rec, RESIZABLE)) {
            return;
        }
        InstanceState before = rec.state();
        MigrateDisk command = env.getMigrateDisk();
        InstanceRecord r = emit(rec.with(InstanceState.RESIZE, TaskState.RESIZE_MIGRATING), env.getRequestId());
        guests.stop(r.id());
        Optional<Path> disk = guests.disk(r);
        inBackground(r, command.getMigrationId(), () -> {
            migrations.sources().copyDisk(r.id(), disk, command, r.sequence() + 1).ifPresent(c ->
                    LOG.infof("instance %s: disk copied to %s for move %s: %d bytes of data, %d of zeros in %d ms",
                            r.id(), command.getTargetHost(), command.getMigrationId(), c.dataBytes(), c.zeroBytes(),
                            c.duration().toMillis()));
            return null;
        }, failure -> diskMoveEnded(env, command, before, failure));
    }

    private synchronized void diskMoveEnded(CommandEnvelope env, MigrateDisk command, InstanceState before,
                                            String failure) {
        String req = env.getRequestId();
        Optional<InstanceRecord> found = store.find(env.getInstanceId());
        if (found.isEmpty() || found.get().state() == InstanceState.DELETED) {
            return;
        }
        InstanceRecord now = found.get();
        if (failure != null) {
            LOG.warnf("instance %s: cold move %s to %s failed, the instance stays here: %s", now.id(),
                    command.getMigrationId(), command.getTargetHost(), failure);
            InstanceRecord back = now.with(before, TaskState.NONE);
            Fault fault = Faults.of("MigrationFailed", "moving to " + command.getTargetHost() + " failed: " + failure);
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
            InstanceEvent e = event(next, req, Optional.of(fault)).toBuilder().setMigrationId(command.getMigrationId())
                    .build();
            store.saveApplied(next, req, List.of(e));
            changes.accept(next);
            events.publish(e);
            return;
        }
        // Kept, stopped, in its state before the move: what a revert brings back.
        InstanceRecord kept = now.with(before, TaskState.RESIZE_MIGRATED).withSequence(now.sequence() + 1)
                .withPendingRequest(Optional.empty());
        // The event tells where the instance is now: on the target, running there if it ran here.
        InstanceEvent e = event(kept.with(InstanceState.VERIFY_RESIZE, TaskState.NONE), req, Optional.empty())
                .toBuilder().setHost(command.getTargetHost()).setMigrationId(command.getMigrationId()).build();
        kept = kept.withPower(PowerState.POWER_SHUTDOWN);
        store.saveApplied(kept, req, List.of(e));
        changes.accept(kept);
        events.publish(e);
    }

    /** Target side of a cold move: the disk is here; the instance waits for confirm or revert. */
    private synchronized void coldMoveArrived(InstanceRecord rec, String migrationId, boolean start,
                                              long sourceSequence) {
        InstanceRecord here = rec.with(InstanceState.VERIFY_RESIZE, TaskState.NONE).withSequence(sourceSequence + 1)
                .withPendingRequest(Optional.empty());
        Optional<Fault> fault = Optional.empty();
        if (start) {
            try {
                guests.launch(here);
                here = here.withLaunchedAt(clock.instant());
            } catch (RuntimeException e) {
                LOG.errorf("instance %s: moved here by %s, but its guest does not start: %s", rec.id(), migrationId,
                        e.getMessage());
                here = here.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN);
                fault = Optional.of(Faults.of(e));
            }
        }
        here = here.withFault(fault);
        store.save(here);
        changes.accept(here);
        events.publish(event(here, "", fault).toBuilder().setMigrationId(migrationId).build());
    }

    /** Target side: a migrated guest runs here now; the instance is this host's from here on. */
    private synchronized void migrationArrived(InstanceRecord rec, String migrationId, VirtualMachine vm,
                                               long sourceSequence) {
        guests.adopt(rec.id(), vm);
        // Above the source's last event: consumers order this host's events after the source's.
        InstanceRecord here = rec.with(InstanceState.ACTIVE, TaskState.NONE).withLaunchedAt(clock.instant())
                .withSequence(sourceSequence + 1).withPendingRequest(Optional.empty());
        store.save(here);
        changes.accept(here);
        events.publish(event(here, "", Optional.empty()).toBuilder().setMigrationId(migrationId).build());
    }

    /** A run that ended without the agent asking: the guest powered off, reset, or failed. */
    synchronized void guestExited(Guest guest, VmExit exit) {
        String id = guest.instanceId();
        Optional<InstanceRecord> found = store.find(id);
        if (found.isEmpty() || guests.running(id).isPresent()) {
            return;
        }
        InstanceRecord rec = found.get();
        if (rec.state() == InstanceState.DELETED || rec.state() == InstanceState.SHUTOFF) {
            return;
        }
        switch (exit.reason()) {
            case POWER_OFF, HALTED -> {
                LOG.infof("instance %s: the guest shut down (%s)", id, exit.detail());
                publishChange(rec.with(InstanceState.SHUTOFF, TaskState.NONE));
            }
            case RESET, TRIPLE_FAULT -> {
                // A PC resets on both: the guest rebooted itself and comes back in a fresh VM.
                LOG.infof("instance %s: the guest reset (%s); booting it again", id, exit.detail());
                try {
                    guests.launch(rec);
                } catch (RuntimeException e) {
                    publishChange(rec.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN)
                            .withFault(Optional.of(Faults.of(e))));
                }
            }
            case STOPPED -> {
                // Stops come from the agent, which takes the guest off the books first.
            }
            default -> {
                LOG.warnf("instance %s: the guest ended: %s", id, exit.detail());
                Fault fault = Faults.of(exit.reason() == VmExit.Reason.CRASH ? "GuestCrashed" : "HypervisorError",
                        exit.detail());
                publishChange(rec.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_CRASHED)
                        .withFault(Optional.of(fault)));
            }
        }
    }

    /**
     * Publishes a change no request asked for (guest exits, recovery after an agent restart) and
     * keeps it.
     */
    public synchronized InstanceRecord publishChange(InstanceRecord changed) {
        InstanceRecord next = changed.withSequence(changed.sequence() + 1);
        store.save(next);
        changes.accept(next);
        events.publish(event(next, "", next.fault()));
        try {
            events.awaitDelivery();
        } catch (PublishException e) {
            // The record holds the change; the bus hears the instance's state again with its next event.
            LOG.warnf("instance %s: event for %s/%s not delivered: %s", next.id(), next.state(), next.task(),
                    e.getMessage());
        }
        return next;
    }

    private boolean allowed(CommandEnvelope env, InstanceRecord rec, Set<InstanceState> states) {
        if (states.contains(rec.state()) && rec.task() == TaskState.NONE) {
            return true;
        }
        if (rec.pendingRequest().equals(Optional.of(env.getRequestId())) && states.contains(rec.state())) {
            return true;
        }
        reject(env, Optional.of(rec), Faults.of("InstanceInvalidState", "cannot " + commandName(env) + " instance "
                + rec.id() + " while it is " + rec.state() + (rec.task() == TaskState.NONE ? ""
                : " (" + rec.task() + ")") + "; allowed in " + states));
        return false;
    }

    private Guest guestOf(InstanceRecord rec) {
        return guests.running(rec.id()).orElseThrow(() -> new IllegalStateException("instance " + rec.id()
                + " is " + rec.state() + " but has no guest running on host " + host));
    }

    /** Records an intermediate state and publishes it; the request stays pending. */
    private InstanceRecord emit(InstanceRecord rec, String req) {
        InstanceRecord next = rec.withSequence(rec.sequence() + 1).withPendingRequest(Optional.of(req));
        store.save(next);
        changes.accept(next);
        events.publish(event(next, req, next.fault()));
        return next;
    }

    /** Records the final state with the request's answer, then publishes it. */
    private void finish(InstanceRecord rec, String req) {
        InstanceRecord next = rec.withSequence(rec.sequence() + 1).withPendingRequest(Optional.empty());
        InstanceEvent e = event(next, req, next.fault());
        store.saveApplied(next, req, List.of(e));
        changes.accept(next);
        events.publish(e);
    }

    private void reject(CommandEnvelope env, Optional<InstanceRecord> rec, Fault fault) {
        reject(env, rec, fault, rec.map(InstanceRecord::state).orElse(InstanceState.INSTANCE_STATE_UNSPECIFIED));
    }

    /** Answers a command that changes nothing; the instance keeps its state, the event carries the fault. */
    private void reject(CommandEnvelope env, Optional<InstanceRecord> rec, Fault fault, InstanceState state) {
        LOG.warnf("instance %s: %s (request %s) refused: %s", env.getInstanceId(), commandName(env),
                env.getRequestId(), fault.getMessage());
        InstanceEvent.Builder e = InstanceEvent.newBuilder().setEventId(UUID.randomUUID().toString())
                .setInstanceId(env.getInstanceId()).setTenantId(env.getTenantId()).setHost(host).setState(state)
                .setTaskState(TaskState.NONE).setRequestId(env.getRequestId()).setFault(fault)
                .setOccurredAt(timestamp(clock.instant()));
        rec.ifPresent(r -> {
            e.setTenantId(r.tenantId()).setResources(r.resources()).setSequence(r.sequence()).setTaskState(r.task())
                    .setPowerState(r.power());
            r.launchedAt().ifPresent(t -> e.setLaunchedAt(timestamp(t)));
        });
        if (rec.isEmpty() && env.hasBoot()) {
            e.setResources(env.getBoot().getResources());
        }
        InstanceEvent event = e.build();
        store.markApplied(env.getRequestId(), env.getInstanceId(), List.of(event));
        events.publish(event);
    }

    private InstanceEvent event(InstanceRecord rec, String req, Optional<Fault> fault) {
        InstanceEvent.Builder e = InstanceEvent.newBuilder().setEventId(UUID.randomUUID().toString())
                .setInstanceId(rec.id()).setTenantId(rec.tenantId()).setHost(host).setState(rec.state())
                .setTaskState(rec.task()).setRequestId(req).setOccurredAt(timestamp(clock.instant()))
                .setResources(rec.resources()).setSequence(rec.sequence()).setPowerState(rec.power());
        rec.launchedAt().ifPresent(t -> e.setLaunchedAt(timestamp(t)));
        fault.ifPresent(e::setFault);
        return e.build();
    }

    /**
     * Why {@code wanted} cannot run here: sizes the VMM refuses ({@code InvalidResources}), or
     * more than the host has free ({@code InsufficientResources}).
     */
    private Optional<Fault> unfit(Resources wanted, Optional<String> replacing) {
        Optional<String> invalid = invalidResources(wanted);
        if (invalid.isPresent()) {
            return Optional.of(Faults.of("InvalidResources", invalid.get()));
        }
        return shortfall(wanted, replacing).map(m -> Faults.of("InsufficientResources", m));
    }

    private static Optional<String> invalidResources(Resources r) {
        if (r.getVcpus() < 1 || r.getVcpus() > VmConfig.MAX_VCPUS) {
            return Optional.of("a guest has 1 to " + VmConfig.MAX_VCPUS + " vCPUs, not " + r.getVcpus());
        }
        if (r.getMemoryMib() < (VmConfig.MIN_MEMORY >> 20)) {
            return Optional.of("a guest needs at least " + (VmConfig.MIN_MEMORY >> 20) + " MiB of memory, not "
                    + r.getMemoryMib());
        }
        return Optional.empty();
    }

    /** What the host lacks to also hold {@code wanted} (the instance {@code replacing} gives its share back). */
    private Optional<String> shortfall(Resources wanted, Optional<String> replacing) {
        long vcpus = 0;
        long memory = 0;
        long disk = 0;
        for (InstanceRecord r : store.all()) {
            if (!r.holdsResources() || replacing.equals(Optional.of(r.id()))) {
                continue;
            }
            Resources held = largest(r.resources(), r.previousResources().orElse(r.resources()));
            vcpus += held.getVcpus();
            memory += held.getMemoryMib();
            disk += held.getDiskGib();
        }
        if (vcpus + wanted.getVcpus() > capacity.getVcpus()) {
            return Optional.of("host " + host + " has " + (capacity.getVcpus() - vcpus) + " of " + capacity.getVcpus()
                    + " vCPUs free, the guest needs " + wanted.getVcpus());
        }
        if (memory + wanted.getMemoryMib() > capacity.getMemoryMib()) {
            return Optional.of("host " + host + " has " + (capacity.getMemoryMib() - memory) + " of "
                    + capacity.getMemoryMib() + " MiB free, the guest needs " + wanted.getMemoryMib());
        }
        if (capacity.getDiskGib() > 0 && disk + wanted.getDiskGib() > capacity.getDiskGib()) {
            return Optional.of("host " + host + " has " + (capacity.getDiskGib() - disk) + " of "
                    + capacity.getDiskGib() + " GiB of disk free, the guest needs " + wanted.getDiskGib());
        }
        return Optional.empty();
    }

    private static Resources largest(Resources a, Resources b) {
        return Resources.newBuilder().setVcpus(Math.max(a.getVcpus(), b.getVcpus()))
                .setMemoryMib(Math.max(a.getMemoryMib(), b.getMemoryMib()))
                .setDiskGib(Math.max(a.getDiskGib(), b.getDiskGib())).build();
    }

    static String commandName(CommandEnvelope env) {
        return env.getCommandCase().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }

    static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }
}
