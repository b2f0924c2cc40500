package io.stratus.agent.command;

import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.migration.LiveMigrations;
import io.stratus.agent.migration.MigrationTargets;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.store.StoreException;
import io.stratus.agent.virt.DriverCapabilities.Traits;
import io.stratus.agent.virt.GuestExit;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.InstanceTransition;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.Reboot;
import io.stratus.proto.v1.Rebuild;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.VolumeAttachment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * Applies commands to this host's instances: the state machine of Nova's compute manager over the
 * host's hypervisor driver. Each command ends in exactly one final event, recorded with the
 * request it answers in the same transaction as the instance record ({@link InstanceJournal}); a
 * redelivered request is answered with the recorded events again and changes nothing.
 *
 * <p>Which command is taken in which state, the task it starts and where it leads are the
 * contract's {@link InstanceTransition} table, which the scheduler checks too; a host also takes
 * a command again that its pending request says was under way when the agent died.
 *
 * <p>Commands of one instance run one at a time (with its guest's exits and its moves' ends in
 * between, under the instance's lock); commands of different instances may run side by side, and
 * what they take of the host is admitted one at a time ({@link Admission}).
 */
public final class CommandHandler implements CommandApplier {
    private static final Logger LOG = Logger.getLogger(CommandHandler.class);

    private final String host;
    private final AgentStore store;
    private final GuestSupervisor guests;
    private final LiveMigrations migrations;
    private final InstanceJournal journal;
    private final InstanceLocks locks = new InstanceLocks();
    private final Admission admission;
    private final MoveCompletions moves;
    private final WatchdogFirings watchdogs;

    public CommandHandler(String host, AgentStore store, GuestSupervisor guests, Resources capacity, EventSink events,
                          Clock clock, LiveMigrations migrations) {
        this.host = host;
        this.store = store;
        this.guests = guests;
        this.migrations = migrations;
        this.journal = new InstanceJournal(host, store, events, clock);
        this.admission = new Admission(host, store, capacity, () -> guests.driver().capabilities());
        this.moves = new MoveCompletions(store, guests, journal, locks);
        this.watchdogs = new WatchdogFirings(store, guests, journal, locks);
        guests.onExit(this::guestExited);
        guests.onWatchdog(watchdogs::fired);
        migrations.targets().onArrival(new MigrationTargets.Arrival() {
            @Override
            public void arrived(InstanceRecord rec, String migrationId, VirtualGuest guest, long sourceSequence) {
                moves.liveMigrationArrived(rec, migrationId, guest, sourceSequence);
            }

            @Override
            public void arrivedCold(InstanceRecord rec, String migrationId, boolean start, long sourceSequence) {
                moves.coldMoveArrived(rec, migrationId, start, sourceSequence);
            }
        });
    }

    /** How many watchdog firings of this host's guests were handled with {@code action}, for /metrics. */
    public long watchdogFirings(io.stratus.proto.v1.WatchdogAction action) {
        return watchdogs.fired(action);
    }

    /** Hears every record the handler writes (meters follow instances this way). */
    public void onRecordChange(Consumer<InstanceRecord> listener) {
        journal.onRecordChange(listener);
    }

    /**
     * Applies one valid envelope (the consumer has checked its shape). Callers may apply commands
     * of different instances at once; one instance's must come one at a time, in order.
     */
    @Override
    public void handle(CommandEnvelope env) {
        locks.with(env.getInstanceId(), () -> apply(env));
    }

    private void apply(CommandEnvelope env) {
        String req = env.getRequestId();
        if (journal.answerAgain(req)) {
            LOG.infof("request %s for instance %s was applied before; answering again", req, env.getInstanceId());
            return;
        }
        Optional<InstanceRecord> found = store.find(env.getInstanceId());
        boolean accepted = found.flatMap(InstanceRecord::pendingRequest).equals(Optional.of(req));
        // A deadline bounds when a command may start; one that started before a crash goes on. A
        // delete has none: the scheduler may have deleted the server already (its host was down),
        // and refused, it would leave a guest nobody accounts for.
        if (!accepted && env.hasDeadline() && env.getCommandCase() != CommandEnvelope.CommandCase.DELETE
                && ProtoTime.instant(env.getDeadline()).isBefore(journal.now())) {
            journal.reject(env, found, Faults.of("CommandExpired", "the " + commandName(env) + " command passed its"
                    + " deadline " + ProtoTime.instant(env.getDeadline()) + " before host " + host + " received it"));
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
            journal.reject(env, found, Faults.of("InstanceNotFound", "instance " + env.getInstanceId()
                    + " is not on host " + host));
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
                case REBUILD -> rebuild(env, rec);
                case CREATE_IMAGE -> createImage(env, rec);
                case ATTACH_VOLUME -> attachVolume(env, rec);
                case DETACH_VOLUME -> detachVolume(env, rec);
                default -> journal.reject(env, found, Faults.of("NotSupported", "host " + host + " does not run "
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
            journal.reject(env, found, Faults.of("InstanceExists", "instance " + rec.id() + " already exists on host " + host
                    + " (" + rec.state() + "); instance ids are never reused"));
            return;
        }
        // The check and the BUILD record that takes the room are one step: another boot waits for it.
        Optional<InstanceRecord> admitted = admission.admit(() -> {
            Optional<Fault> unfit = admission.unfit(env.getBoot().getResources(), Optional.empty());
            if (unfit.isPresent()) {
                journal.reject(env, found, unfit.get(), InstanceState.ERROR);
                return Optional.empty();
            }
            return Optional.of(emit(InstanceRecord.building(env.getInstanceId(), env.getTenantId(), env.getBoot(),
                    req), req));
        });
        admitted.ifPresent(rec -> spawn(rec, req));
    }

    private void spawn(InstanceRecord rec, String req) {
        try {
            guests.launch(rec);
            finish(rec.with(InstanceState.ACTIVE, TaskState.NONE).withFault(Optional.empty())
                    .withLaunchedAt(journal.now()), req);
        } catch (RuntimeException e) {
            LOG.errorf("instance %s: boot failed (request %s): %s", rec.id(), req, e.getMessage());
            finish(rec.with(InstanceState.ERROR, TaskState.NONE).withFault(Optional.of(Faults.of(e))), req);
        }
    }

    private void stop(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.STOP;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        // No ACPI power button yet: the guest is stopped, not asked to shut down (the timeout is not used).
        guests.stop(r.id());
        // A stop from ERROR leaves the error behind: a fault on later events would read as their refusal.
        finish(r.with(t.leadsTo(rec.state(), false), TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
    }

    private void start(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.START;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guests.launch(r);
        finish(r.with(t.leadsTo(rec.state(), true), TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
    }

    private void reboot(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = env.getReboot().getKind() == Reboot.Kind.HARD ? InstanceTransition.REBOOT_HARD
                : InstanceTransition.REBOOT_SOFT;
        if (!allowed(env, rec, t)) {
            return;
        }
        // A soft reboot needs the guest's cooperation (an ACPI power button, not there yet): both kinds
        // restart the VM, which a guest sees as a reset.
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guests.stop(r.id());
        guests.launch(r);
        finish(r.with(t.leadsTo(rec.state(), true), TaskState.NONE).withFault(Optional.empty()), env.getRequestId());
    }

    private void pause(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.PAUSE;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        Guest guest = guestOf(r);
        try {
            guest.machine().pause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pausing instance " + r.id(), e);
        }
        finish(r.with(t.leadsTo(rec.state(), true), TaskState.NONE), env.getRequestId());
    }

    private void unpause(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.UNPAUSE;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guestOf(r).machine().resume();
        finish(r.with(t.leadsTo(rec.state(), true), TaskState.NONE), env.getRequestId());
    }

    /** Cold resize on this host: the guest restarts with the new size and waits in VERIFY_RESIZE. */
    private void resize(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.RESIZE;
        if (!allowed(env, rec, t)) {
            return;
        }
        Resources wanted = env.getResize().getResources();
        boolean running = rec.state() == InstanceState.ACTIVE;
        // Admitted with the record that holds the new size (the old one kept beside it), as a boot is:
        // the guest's stop in between is short, and other admissions wait for it.
        Optional<InstanceRecord> resized = admission.admit(() -> {
            Optional<Fault> unfit = admission.unfit(wanted, Optional.of(rec.id()));
            if (unfit.isPresent()) {
                journal.reject(env, Optional.of(rec), unfit.get());
                return Optional.empty();
            }
            InstanceRecord prep = emit(started(rec, t), env.getRequestId());
            guests.stop(prep.id());
            return Optional.of(emit(prep.with(InstanceState.RESIZE, TaskState.RESIZE_FINISH).withResources(wanted,
                    Optional.of(rec.resources())), env.getRequestId()));
        });
        if (resized.isEmpty()) {
            return;
        }
        InstanceRecord r = resized.get();
        if (running) {
            guests.launch(r);
        }
        finish(r.with(t.leadsTo(rec.state(), running), TaskState.NONE), env.getRequestId());
    }

    private void confirmResize(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.CONFIRM_RESIZE;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        InstanceState after = t.leadsTo(rec.state(), guests.running(r.id()).isPresent());
        finish(r.with(after, TaskState.NONE).withResources(r.resources(), Optional.empty()), env.getRequestId());
    }

    private void revertResize(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.of(env, rec.task()).orElseThrow();
        if (t == InstanceTransition.REVERT_MOVE_SOURCE) {
            // The source of a cold move (its task says so, whatever its state): the instance runs here
            // again as it was before the move.
            InstanceRecord r = emit(started(rec, t), env.getRequestId());
            if (r.state() == InstanceState.ACTIVE) {
                guests.launch(r);
            }
            finish(r.with(t.leadsTo(r.state(), r.state() == InstanceState.ACTIVE), TaskState.NONE)
                    .withFault(Optional.empty()), env.getRequestId());
            return;
        }
        if (!allowed(env, rec, t)) {
            return;
        }
        boolean running = guests.running(rec.id()).isPresent();
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guests.stop(r.id());
        r = r.withResources(r.previousResources().orElse(r.resources()), Optional.empty());
        if (running) {
            guests.launch(r);
        }
        finish(r.with(t.leadsTo(rec.state(), running), TaskState.NONE), env.getRequestId());
    }

    /**
     * Nova's rebuild: the guest stops, its disk goes, a fresh disk is made over the new image (fetched
     * as for a boot) and the guest boots from it. A stopped instance stays stopped, as in Nova; one
     * that ran or had failed runs. A failure on the way leaves the instance in ERROR with the reason.
     */
    private void rebuild(CommandEnvelope env, InstanceRecord rec) {
        String req = env.getRequestId();
        // Redelivered after the agent died in the middle: go on from where it was.
        InstanceTransition t = InstanceTransition.REBUILD;
        if (!allowed(env, rec, t)) {
            return;
        }
        boolean underWay = t.resumesIn().equals(Optional.of(rec.state()));
        InstanceRecord r = underWay ? rec : emit(started(rec, t)
                .withPower(rec.state() == InstanceState.SHUTOFF ? PowerState.POWER_SHUTDOWN
                        : PowerState.POWER_RUNNING), req);
        boolean start = r.power() == PowerState.POWER_RUNNING;
        guests.stop(r.id());
        guests.discardDisk(r.id());
        Rebuild command = env.getRebuild();
        Boot.Builder boot = r.boot().toBuilder().setSource(command.getSource());
        if (!command.getName().isEmpty()) {
            boot.setName(command.getName());
        }
        if (command.getReplaceMetadata()) {
            boot.clearMetadata().putAllMetadata(command.getMetadataMap());
        }
        r = emit(r.withBoot(boot.build()).with(InstanceState.REBUILD, TaskState.REBUILD_SPAWNING), req);
        try {
            // The new image is fetched and the fresh layer made now, whether or not the guest runs.
            guests.disk(r);
            if (start) {
                guests.launch(r);
            }
        } catch (StoreException | PublishException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.errorf("instance %s: rebuild failed (request %s): %s", r.id(), req, e.getMessage());
            // No guest runs now and none is to be brought back: its disk is gone.
            guests.stop(r.id());
            finish(r.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_SHUTDOWN)
                    .withFault(Optional.of(Faults.of(e))), req);
            return;
        }
        if (start) {
            finish(r.with(InstanceState.ACTIVE, TaskState.NONE).withFault(Optional.empty())
                    .withLaunchedAt(journal.now()), req);
        } else {
            finish(r.with(InstanceState.SHUTOFF, TaskState.NONE).withFault(Optional.empty()), req);
        }
    }

    /**
     * Nova's snapshot: the instance's disk, as the guest sees it, becomes the data of the image the
     * scheduler created. The guest is paused for the copy only (the driver's way); the upload runs
     * while it runs on. The instance keeps its state either way; a failure is the fault of the final
     * event (which names the image, so that the scheduler deletes it).
     */
    private void createImage(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.CREATE_IMAGE;
        if (!allowed(env, rec, t)) {
            return;
        }
        String req = env.getRequestId();
        String imageId = env.getCreateImage().getImageId();
        UnaryOperator<InstanceEvent.Builder> naming = e -> e.setImageId(imageId);
        InstanceRecord r = emit(started(rec, t), req);
        Path copy = guests.instanceDir(r.id()).resolve("image-" + imageId + ".raw");
        try {
            Files.deleteIfExists(copy);
            guests.exportDisk(r, copy);
            r = emit(r.with(r.state(), TaskState.IMAGE_UPLOADING), req);
            guests.upload(imageId, copy);
            journal.finish(r.with(r.state(), TaskState.NONE), req, naming);
            LOG.infof("instance %s: image %s made of its disk (request %s)", r.id(), imageId, req);
        } catch (StoreException | PublishException e) {
            throw e;
        } catch (IOException | RuntimeException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.errorf("instance %s: image %s failed (request %s): %s", r.id(), imageId, req, e.getMessage());
            Fault fault = e instanceof RuntimeException re ? Faults.of(re) : Faults.of("ImageUploadFailed",
                    "the image of instance " + r.id() + " could not be made: " + e.getMessage());
            // The instance is as it was: the fault is the request's answer, not the instance's.
            journal.finish(r.with(r.state(), TaskState.NONE), req, e2 -> naming.apply(e2).setFault(fault));
        } finally {
            try {
                Files.deleteIfExists(copy);
            } catch (IOException e) {
                LOG.warnf("instance %s: cannot delete %s: %s", r.id(), copy, e.getMessage());
            }
        }
    }

    /** Where a volume may come or go: a guest that runs, is paused or is stopped, with no task under way. */
    private static final EnumSet<InstanceState> VOLUME_STATES = EnumSet.of(InstanceState.ACTIVE,
            InstanceState.PAUSED, InstanceState.SHUTOFF);

    /**
     * Nova's attach: the volume fills a free disk slot of the running (or paused) guest, or, for a
     * stopped one, is recorded for its next start. The instance keeps its state; the answer names
     * the volume and has a fault when it could not be attached (nothing is recorded then). The
     * attachment id makes it idempotent: one the record holds already is attached again only
     * where the guest lacks it.
     */
    private void attachVolume(CommandEnvelope env, InstanceRecord rec) {
        VolumeAttachment wanted = env.getAttachVolume().getVolume();
        if (!volumeMayChange(env, rec)) {
            return;
        }
        List<VolumeAttachment> attached = rec.boot().getVolumesList();
        boolean known = attached.stream().anyMatch(a -> a.getAttachmentId().equals(wanted.getAttachmentId()));
        Optional<Fault> refusal = known ? Optional.empty() : attachRefusal(rec, wanted, attached);
        if (refusal.isPresent()) {
            journal.reject(env, Optional.of(rec), refusal.get());
            return;
        }
        try {
            GuestSpec.Volume volume = GuestSupervisor.volume(wanted);
            Optional<Guest> guest = guests.running(rec.id());
            if (guest.isPresent()) {
                guest.get().machine().attachVolume(volume);
            }
        } catch (HypervisorException e) {
            journal.reject(env, Optional.of(rec), Faults.of(e));
            return;
        }
        InstanceRecord r = known ? rec : rec.withBoot(rec.boot().toBuilder().addVolumes(wanted).build());
        journal.finish(r, env.getRequestId(), e -> e.setVolumeId(wanted.getVolumeId()));
        LOG.infof("instance %s: volume %s attached (attachment %s, request %s)", rec.id(), wanted.getVolumeId(),
                wanted.getAttachmentId(), env.getRequestId());
    }

    /** Why {@code wanted} cannot be added to the instance's {@code attached} volumes, if it cannot. */
    private Optional<Fault> attachRefusal(InstanceRecord rec, VolumeAttachment wanted,
                                          List<VolumeAttachment> attached) {
        if (wanted.getVolumeId().isEmpty() || wanted.getAttachmentId().isEmpty()) {
            return Optional.of(Faults.of("InvalidVolume", "an attachment needs a volume id and an attachment id"));
        }
        if (wanted.getBoot()) {
            return Optional.of(Faults.of("InvalidVolume", "volume " + wanted.getVolumeId() + " cannot become the"
                    + " root disk of instance " + rec.id() + ", which runs already"));
        }
        if (attached.stream().anyMatch(a -> a.getVolumeId().equals(wanted.getVolumeId()))) {
            return Optional.of(Faults.of("VolumeAlreadyAttached", "volume " + wanted.getVolumeId()
                    + " is attached to instance " + rec.id() + " already"));
        }
        if (!guests.driver().capabilities().has(Traits.VOLUME_ATTACH)) {
            return Optional.of(Faults.of("NotSupported", "the " + guests.driver().capabilities().name()
                    + " hypervisor driver of host " + host + " does not attach volumes"));
        }
        if (attached.stream().filter(a -> !a.getBoot()).count() >= GuestSupervisor.VOLUME_SLOTS) {
            return Optional.of(Faults.of("NoFreeDiskSlot", "instance " + rec.id() + " has "
                    + GuestSupervisor.VOLUME_SLOTS + " volumes attached, as many as it has disk slots"));
        }
        return Optional.empty();
    }

    /**
     * Nova's detach: the guest's writes are flushed and its disk slot emptied (a stopped instance's
     * record just loses it). The root volume stays. Detaching an attachment the instance does not
     * have is refused with {@code VolumeNotAttached}; a redelivered detach is answered again.
     */
    private void detachVolume(CommandEnvelope env, InstanceRecord rec) {
        String volumeId = env.getDetachVolume().getVolumeId();
        String attachmentId = env.getDetachVolume().getAttachmentId();
        if (!volumeMayChange(env, rec)) {
            return;
        }
        Optional<VolumeAttachment> found = rec.boot().getVolumesList().stream()
                .filter(a -> attachmentId.isEmpty() ? a.getVolumeId().equals(volumeId)
                        : a.getAttachmentId().equals(attachmentId))
                .findFirst();
        if (found.isEmpty()) {
            journal.reject(env, Optional.of(rec), Faults.of("VolumeNotAttached", "volume " + volumeId
                    + (attachmentId.isEmpty() ? "" : " (attachment " + attachmentId + ")")
                    + " is not attached to instance " + rec.id()));
            return;
        }
        if (found.get().getBoot()) {
            journal.reject(env, Optional.of(rec), Faults.of("InvalidVolume", "volume " + volumeId
                    + " is the root disk of instance " + rec.id() + " and cannot be detached"));
            return;
        }
        try {
            Optional<Guest> guest = guests.running(rec.id());
            if (guest.isPresent()) {
                guest.get().machine().detachVolume(found.get().getAttachmentId());
            }
        } catch (HypervisorException e) {
            journal.reject(env, Optional.of(rec), Faults.of(e));
            return;
        }
        Boot.Builder boot = rec.boot().toBuilder().clearVolumes();
        rec.boot().getVolumesList().stream().filter(a -> !a.equals(found.get())).forEach(boot::addVolumes);
        journal.finish(rec.withBoot(boot.build()), env.getRequestId(), e -> e.setVolumeId(volumeId));
        LOG.infof("instance %s: volume %s detached (request %s)", rec.id(), volumeId, env.getRequestId());
    }

    private boolean volumeMayChange(CommandEnvelope env, InstanceRecord rec) {
        if (VOLUME_STATES.contains(rec.state()) && rec.task() == TaskState.NONE) {
            return true;
        }
        journal.reject(env, Optional.of(rec), Faults.of("InstanceInvalidState", "cannot " + commandName(env)
                + " of instance " + rec.id() + " while it is " + rec.state() + (rec.task() == TaskState.NONE ? ""
                : " (" + rec.task() + ")") + "; allowed in " + VOLUME_STATES));
        return false;
    }

    /** Delete wins over everything: the table allows it from every state, over every task. */
    private void delete(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.DELETE;
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guests.forget(r);
        finish(r.with(t.leadsTo(rec.state(), false), TaskState.NONE).withSnapshotted(false), env.getRequestId());
    }

    /**
     * Target side: gets ready to receive the instance. The answer comes on the migration's stream,
     * not the bus: the source's Hello is refused with the reason when this host cannot run it.
     */
    private void prepareMigrationTarget(CommandEnvelope env, Optional<InstanceRecord> found) {
        PrepareMigrationTarget p = env.getPrepareMigrationTarget();
        Optional<String> refusal = found.filter(r -> r.state() != InstanceState.DELETED)
                .map(r -> "instance " + r.id() + " is already on host " + host + " (" + r.state() + ")")
                .or(() -> admission.unfit(p.getInstance().getResources(), Optional.empty()).map(Fault::getMessage));
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
        InstanceTransition t = InstanceTransition.LIVE_MIGRATE;
        if (!allowed(env, rec, t)) {
            return;
        }
        Optional<Fault> volumes = liveVolumesRefusal(rec);
        if (volumes.isPresent()) {
            journal.reject(env, Optional.of(rec), volumes.get());
            return;
        }
        Guest guest = guestOf(rec);
        LiveMigrate command = env.getLiveMigrate();
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        List<String> attachments = r.boot().getVolumesList().stream().map(VolumeAttachment::getAttachmentId).toList();
        inBackground(r, command.getMigrationId(), () -> {
            return migrations.sources().migrate(r.id(), guest.machine(), command, r.sequence() + 1, attachments)
                    .orElse(null);
        }, failure -> moves.liveMigrationEnded(env, command, failure));
    }

    /**
     * Why the instance's volumes keep it from a live migration, if they do: a driver without
     * {@link Traits#LIVE_MIGRATION_VOLUMES}. A boot volume moves as the others do (the qemu
     * driver's guest that writes only volumes migrates without copying any disk).
     */
    private Optional<Fault> liveVolumesRefusal(InstanceRecord rec) {
        if (rec.boot().getVolumesCount() == 0) {
            return Optional.empty();
        }
        if (!guests.driver().capabilities().has(Traits.LIVE_MIGRATION_VOLUMES)) {
            return Optional.of(Faults.of("NotSupported", "instance " + rec.id() + " has "
                    + rec.boot().getVolumesCount() + " volumes attached, and the hypervisor driver of host " + host
                    + " (" + guests.driver().capabilities().name() + ") does not live-migrate a guest with volumes"
                    + " (a cold migration moves them)"));
        }
        return Optional.empty();
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

    /**
     * Source side of a cold move (migrate, or resize to another host): the guest stops, its disk
     * goes to the target in the background, and the instance stays here, stopped, until the move
     * is confirmed (Delete) or reverted (RevertResize).
     */
    private void migrateDisk(CommandEnvelope env, InstanceRecord rec) {
        InstanceTransition t = InstanceTransition.COLD_MOVE;
        if (!allowed(env, rec, t)) {
            return;
        }
        InstanceState before = rec.state();
        MigrateDisk command = env.getMigrateDisk();
        InstanceRecord r = emit(started(rec, t), env.getRequestId());
        guests.stop(r.id());
        Optional<Path> disk = guests.disk(r);
        inBackground(r, command.getMigrationId(), () -> {
            migrations.sources().copyDisk(r.id(), disk, command, r.sequence() + 1);
            return null;
        }, failure -> moves.diskMoveEnded(env, command, before, failure));
    }

    /** A run that ended without the agent asking: the guest powered off, reset, or failed. */
    void guestExited(Guest guest, GuestExit exit) {
        locks.with(guest.instanceId(), () -> exited(guest, exit));
    }

    private void exited(Guest guest, GuestExit exit) {
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
                if (rec.state() == InstanceState.VERIFY_RESIZE) {
                    // Still to be confirmed or reverted, stopped now (Nova's power sync leaves a RESIZED instance so).
                    publishChange(rec.withPower(PowerState.POWER_SHUTDOWN));
                } else {
                    publishChange(rec.with(InstanceState.SHUTOFF, TaskState.NONE));
                }
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
                Fault fault = Faults.of(exit.reason() == GuestExit.Reason.CRASH ? "GuestCrashed" : "HypervisorError",
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
    public InstanceRecord publishChange(InstanceRecord changed) {
        return locks.with(changed.id(), () -> journal.publishChange(changed));
    }

    private boolean allowed(CommandEnvelope env, InstanceRecord rec, InstanceTransition t) {
        if (t.acceptsOnHost(rec.state(), rec.task(), rec.pendingRequest().equals(Optional.of(env.getRequestId())))) {
            return true;
        }
        journal.reject(env, Optional.of(rec), Faults.of("InstanceInvalidState", "cannot " + commandName(env)
                + " instance "
                + rec.id() + " while it is " + rec.state() + (rec.task() == TaskState.NONE ? ""
                : " (" + rec.task() + ")") + "; allowed in " + t.from()));
        return false;
    }

    /** {@code rec} as {@code t} starts: its task, and the state it runs in where that is not the one it had. */
    private static InstanceRecord started(InstanceRecord rec, InstanceTransition t) {
        return rec.with(t.during().orElse(rec.state()), t.task());
    }

    private Guest guestOf(InstanceRecord rec) {
        return guests.running(rec.id()).orElseThrow(() -> new IllegalStateException("instance " + rec.id()
                + " is " + rec.state() + " but has no guest running on host " + host));
    }

    private InstanceRecord emit(InstanceRecord rec, String req) {
        return journal.emit(rec, req);
    }

    private void finish(InstanceRecord rec, String req) {
        journal.finish(rec, req);
    }

    static String commandName(CommandEnvelope env) {
        return env.getCommandCase().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
}
