package io.stratus.agent.migration;

import io.grpc.Status;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.migration.DiskCopy;
import io.stratus.kvm.migration.DiskCopyResult;
import io.stratus.kvm.migration.MigrationException;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.proto.v1.MigrationHello;
import io.stratus.proto.v1.VolumeAttachment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.jboss.logging.Logger;

/**
 * The migrations this host is the target of: each is prepared when the scheduler's
 * {@code PrepareMigrationTarget} arrives (the guest built by the driver, not running, with a
 * fresh disk layer),
 * then receives its guest from the one source that presents the migration's token.
 *
 * <p>Nothing of an incoming guest is recorded on this host until it runs here: a target that
 * fails or is killed mid-way leaves only a directory, which the next prepare of the same instance
 * or {@link #expire} removes.
 */
public final class MigrationTargets {
    private static final Logger LOG = Logger.getLogger(MigrationTargets.class);

    /** What becomes of a received guest: the agent records and runs it. */
    public interface Arrival {
        /** The guest runs here now; {@code sourceSequence} is the last event number the source used. */
        void arrived(InstanceRecord rec, String migrationId, VirtualGuest guest, long sourceSequence);

        /** A cold move's disk is here now; the guest is to be booted here if {@code start}. */
        void arrivedCold(InstanceRecord rec, String migrationId, boolean start, long sourceSequence);
    }

    private enum Phase { PREPARING, READY, FAILED, RECEIVING }

    private static final class Incoming {
        final String migrationId;
        final String token;
        final String sourceHost;
        final InstanceRecord record;
        final Instant preparedAt;
        final boolean cold;
        final boolean start;
        volatile Phase phase = Phase.PREPARING;
        volatile String failure = "";
        /** Refused up front: nothing was built here (the instance may even live here already). */
        volatile boolean refused;
        volatile IncomingGuest guest;
        /** Whether the guest built here has an entropy device. */
        volatile boolean entropy;
        /** The volume slots the guest was built with (attachment ids, "" for empty); empty: the record's order. */
        volatile List<String> volumeSlots = List.of();

        Incoming(String migrationId, String token, String sourceHost, InstanceRecord record, Instant preparedAt,
                 boolean cold, boolean start) {
            this.migrationId = migrationId;
            this.token = token;
            this.sourceHost = sourceHost;
            this.record = record;
            this.preparedAt = preparedAt;
            this.cold = cold;
            this.start = start;
        }
    }

    private final String host;
    private final GuestSupervisor guests;
    private final Executor workers;
    private final Clock clock;
    private final Duration stallLimit;
    private final MigrationMeters meters;
    private final Map<String, Incoming> incoming = new ConcurrentHashMap<>();
    private volatile Arrival arrival;

    public MigrationTargets(String host, GuestSupervisor guests, Executor workers, Clock clock,
                            Duration stallLimit, MigrationMeters meters) {
        this.host = host;
        this.meters = meters;
        this.guests = guests;
        this.workers = workers;
        this.clock = clock;
        this.stallLimit = stallLimit;
    }

    public void onArrival(Arrival listener) {
        this.arrival = listener;
    }

    /**
     * Gets ready to receive {@code rec}'s guest from {@code sourceHost}; the VM is built in the
     * background (its images may have to be fetched first). Preparing the same migration again
     * changes nothing.
     */
    public void prepare(String migrationId, String token, String sourceHost, InstanceRecord rec) {
        prepare(migrationId, token, sourceHost, rec, false, false);
    }

    /**
     * Like {@link #prepare(String, String, String, InstanceRecord)}; a {@code cold} move gets only
     * the instance's disk (a fresh layer of the record's size), and boots it if {@code start}.
     */
    public void prepare(String migrationId, String token, String sourceHost, InstanceRecord rec, boolean cold,
                        boolean start) {
        Incoming in = new Incoming(migrationId, token, sourceHost, rec, clock.instant(), cold, start);
        if (incoming.putIfAbsent(migrationId, in) != null) {
            return;
        }
        workers.execute(() -> {
            try {
                if (cold) {
                    guests.disk(rec);
                } else {
                    // As this host boots guests; a source whose guest differs says so in its Hello.
                    in.guest = incomingGuest(rec, true, List.of());
                    in.entropy = true;
                }
                if (settle(in, Phase.READY)) {
                    LOG.infof("instance %s: ready to receive migration %s from %s", rec.id(), migrationId, sourceHost);
                }
            } catch (RuntimeException e) {
                LOG.warnf("instance %s: cannot prepare migration %s from %s: %s", rec.id(), migrationId, sourceHost,
                        e.getMessage());
                in.failure = e.getMessage();
                settle(in, Phase.FAILED);
            }
        });
    }

    /**
     * Ends {@code in}'s preparation in {@code phase}, unless it was aborted or expired meanwhile:
     * then what was built goes now. An abort does not discard a migration still being prepared
     * (its files are still being made), so the one of the two that comes second does it.
     *
     * @return whether the migration still stands
     */
    private boolean settle(Incoming in, Phase phase) {
        synchronized (in) {
            if (incoming.get(in.migrationId) == in) {
                in.phase = phase;
                return true;
            }
        }
        LOG.infof("instance %s: migration %s was dropped while it was being prepared; what was built goes",
                in.record.id(), in.migrationId);
        discard(in);
        return false;
    }

    /** Discards a migration just taken out of {@link #incoming}, unless its preparation still runs. */
    private void dropped(Incoming in) {
        synchronized (in) {
            if (in.phase == Phase.PREPARING || in.phase == Phase.RECEIVING) {
                return;
            }
        }
        discard(in);
    }

    /**
     * Records that this host cannot take the migration, so that the source's Hello is answered
     * with {@code reason} at once instead of waiting for a target that never gets ready.
     */
    public void refuse(String migrationId, String token, String sourceHost, InstanceRecord rec, String reason) {
        Incoming in = new Incoming(migrationId, token, sourceHost, rec, clock.instant(), false, false);
        in.failure = reason;
        in.refused = true;
        in.phase = Phase.FAILED;
        incoming.putIfAbsent(migrationId, in);
    }

    /** Drops the migration (the scheduler aborted it); a stream already under way fails. */
    public void abort(String migrationId) {
        Incoming in = incoming.remove(migrationId);
        if (in != null) {
            dropped(in);
        }
    }

    /** Drops migrations prepared longer than {@code age} ago that no source has started. */
    public void expire(Duration age) {
        Instant limit = clock.instant().minus(age);
        for (Incoming in : incoming.values()) {
            if (in.phase != Phase.RECEIVING && in.preparedAt.isBefore(limit) && incoming.remove(in.migrationId, in)) {
                LOG.warnf("instance %s: migration %s from %s never started; dropped", in.record.id(), in.migrationId,
                        in.sourceHost);
                dropped(in);
            }
        }
    }

    /**
     * Admits a source's Hello: the migration must be prepared here, ready, not yet claimed, and the
     * token the scheduler gave it.
     *
     * @return the migration, claimed for this stream
     * @throws io.grpc.StatusRuntimeException why not, in words the source reports
     */
    Claimed admit(MigrationHello hello) {
        Incoming in = incoming.get(hello.getMigrationId());
        if (in == null) {
            throw Status.NOT_FOUND.withDescription("host " + host + " has no migration " + hello.getMigrationId()
                    + " prepared (not yet, or it expired)").asRuntimeException();
        }
        if (!MessageDigest.isEqual(in.token.getBytes(StandardCharsets.UTF_8),
                hello.getToken().getBytes(StandardCharsets.UTF_8))) {
            throw Status.PERMISSION_DENIED.withDescription("wrong token for migration " + hello.getMigrationId())
                    .asRuntimeException();
        }
        if (!in.record.id().equals(hello.getInstanceId())) {
            throw Status.INVALID_ARGUMENT.withDescription("migration " + hello.getMigrationId() + " moves instance "
                    + in.record.id() + ", not " + hello.getInstanceId()).asRuntimeException();
        }
        synchronized (in) {
            if (incoming.get(in.migrationId) != in) {
                throw Status.NOT_FOUND.withDescription("migration " + in.migrationId + " was dropped on host " + host)
                        .asRuntimeException();
            }
            switch (in.phase) {
                case PREPARING -> throw Status.UNAVAILABLE.withDescription("host " + host
                        + " is still preparing instance " + in.record.id()).asRuntimeException();
                case FAILED -> throw Status.FAILED_PRECONDITION.withDescription("host " + host + " cannot run"
                        + " instance " + in.record.id() + ": " + in.failure).asRuntimeException();
                case RECEIVING -> throw Status.ALREADY_EXISTS.withDescription("migration " + in.migrationId
                        + " is already streaming").asRuntimeException();
                default -> in.phase = Phase.RECEIVING;
            }
        }
        if (!in.cold) {
            matchDevices(in, hello);
        }
        return new Claimed(in, hello.getSequence());
    }

    /** The instance's guest, not running, for a live migration to stream into (the driver's pre_live_migration). */
    private IncomingGuest incomingGuest(InstanceRecord rec, boolean entropy, List<String> volumeSlots) {
        HypervisorDriver driver = guests.driver();
        if (!driver.capabilities().has(DriverCapabilities.Traits.LIVE_MIGRATION)) {
            throw new HypervisorException("NotSupported", "host " + host + " cannot receive a live migration: its"
                    + " hypervisor driver (" + driver.capabilities().name() + ") does not live-migrate");
        }
        boolean volumes = rec.boot().getVolumesCount() > 0;
        if (volumes && !driver.capabilities().has(DriverCapabilities.Traits.LIVE_MIGRATION_VOLUMES)) {
            throw new HypervisorException("NotSupported", "host " + host + " cannot receive a live migration of a"
                    + " guest with volumes: its hypervisor driver (" + driver.capabilities().name() + ") does not");
        }
        return guests.withSpec(rec, entropy, spec -> driver.incoming(volumeSlots.isEmpty() ? spec
                : spec.withSlots(volumeSlots), guests.console(rec.id())));
    }

    /**
     * Builds the prepared guest again if the source's guest has other devices than this host gives a
     * guest it boots: one booted before its host had entropy devices has none, one whose volumes
     * are not in the slots the record's order gives them (a detach from a middle slot leaves a gap)
     * has them elsewhere, and the stream of a guest whose devices differ is refused (or, for the
     * volumes, reaches the wrong disks).
     */
    private void matchDevices(Incoming in, MigrationHello hello) {
        List<String> slots = hello.getVolumeSlotsList();
        boolean slotsDiffer = !slots.isEmpty() && !withoutTrailingEmpty(slots).equals(withoutTrailingEmpty(
                in.volumeSlots.isEmpty() ? recordOrder(in.record) : in.volumeSlots));
        if (in.entropy == hello.getEntropyDevice() && !slotsDiffer) {
            return;
        }
        // The prepared guest holds the disk's lock: it goes first.
        in.guest.discard();
        in.guest = null;
        try {
            in.guest = incomingGuest(in.record, hello.getEntropyDevice(), slots);
            in.entropy = hello.getEntropyDevice();
            in.volumeSlots = List.copyOf(slots);
        } catch (RuntimeException e) {
            incoming.remove(in.migrationId, in);
            discard(in);
            throw Status.FAILED_PRECONDITION.withDescription("host " + host + " cannot build instance "
                    + in.record.id() + " with the source's devices: " + e.getMessage()).asRuntimeException();
        }
        LOG.infof("instance %s: migration %s from %s: the guest %s an entropy device and its volume slots hold %s;"
                        + " its guest here was built again to match", in.record.id(), in.migrationId, in.sourceHost,
                hello.getEntropyDevice() ? "has" : "has no", slots);
    }

    /** The slots a guest built from {@code rec} gets: its volumes (but a boot volume) in order. */
    private static List<String> recordOrder(InstanceRecord rec) {
        return rec.boot().getVolumesList().stream().filter(v -> !v.getBoot())
                .map(VolumeAttachment::getAttachmentId).toList();
    }

    private static List<String> withoutTrailingEmpty(List<String> slots) {
        int end = slots.size();
        while (end > 0 && slots.get(end - 1).isEmpty()) {
            end--;
        }
        return slots.subList(0, end);
    }

    /** A migration admitted for one stream. */
    final class Claimed {
        private final Incoming in;
        private final long sourceSequence;

        private Claimed(Incoming in, long sourceSequence) {
            this.in = in;
            this.sourceSequence = sourceSequence;
        }

        String describe() {
            return "instance " + in.record.id() + " migration " + in.migrationId + " from " + in.sourceHost;
        }

        /** The guest a live migration streams into; null for a cold move. */
        IncomingGuest guest() {
            return in.guest;
        }

        /** Receives the guest over {@code channel} (blocking); it runs here when this returns normally. */
        void receive(StreamChannel<?> channel) {
            if (in.cold) {
                receiveDisk(channel);
                return;
            }
            VirtualGuest arrived;
            try {
                arrived = in.guest.receive(channel);
            } catch (RuntimeException e) {
                LOG.warnf("instance %s: migration %s from %s failed here: %s", in.record.id(), in.migrationId,
                        in.sourceHost, e.getMessage());
                incoming.remove(in.migrationId, in);
                discard(in);
                meters.ended(MigrationMeters.Direction.IN, MigrationMeters.Kind.LIVE, false);
                throw e;
            }
            meters.ended(MigrationMeters.Direction.IN, MigrationMeters.Kind.LIVE, true);
            LOG.infof("instance %s: migration %s from %s arrived; the guest runs here", in.record.id(),
                    in.migrationId, in.sourceHost);
            incoming.remove(in.migrationId, in);
            // The guest runs here now and nowhere else: whatever fails from here on must not stop it.
            arrival.arrived(in.record, in.migrationId, arrived, sourceSequence);
        }

        private void receiveDisk(StreamChannel<?> channel) {
            try {
                Optional<Path> disk = guests.disk(in.record);
                if (disk.isPresent()) {
                    DiskCopyResult r;
                    try (DiskImage image = DiskImage.open(disk.get(), false)) {
                        r = DiskCopy.receive(image, channel, channel);
                    }
                    LOG.infof("instance %s: the disk of cold move %s from %s arrived: %d bytes of data, %d of"
                                    + " zeros in %d ms", in.record.id(), in.migrationId, in.sourceHost, r.dataBytes(),
                            r.zeroBytes(), r.duration().toMillis());
                } else {
                    // Nothing to copy: the source only ends its side.
                    channel.awaitPeerEnd();
                }
            } catch (IOException | RuntimeException e) {
                LOG.warnf("instance %s: cold move %s from %s failed here: %s", in.record.id(), in.migrationId,
                        in.sourceHost, e.getMessage());
                incoming.remove(in.migrationId, in);
                discard(in);
                meters.ended(MigrationMeters.Direction.IN, MigrationMeters.Kind.COLD, false);
                throw e instanceof RuntimeException r ? r : new MigrationException(e.getMessage(), e);
            }
            meters.ended(MigrationMeters.Direction.IN, MigrationMeters.Kind.COLD, true);
            incoming.remove(in.migrationId, in);
            arrival.arrivedCold(in.record, in.migrationId, in.start, sourceSequence);
        }
    }

    private void discard(Incoming in) {
        if (in.refused) {
            return;
        }
        IncomingGuest guest = in.guest;
        if (guest != null) {
            guest.discard();
        }
        // The instance may live here in an older record (it left and comes back): only the new parts go.
        guests.forget(in.record);
    }

    Duration stallLimit() {
        return stallLimit;
    }
}
