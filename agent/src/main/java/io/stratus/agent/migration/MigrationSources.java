package io.stratus.agent.migration;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.stratus.agent.grpc.PeerChannels;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.agent.virt.MigrationOutcome;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.migration.DiskCopy;
import io.stratus.kvm.migration.DiskCopyResult;
import io.stratus.kvm.migration.MigrationException;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.MigrationAck;
import io.stratus.proto.v1.MigrationHello;
import io.stratus.proto.v1.MigrationMessage;
import io.stratus.proto.v1.MigrationServiceGrpc;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * The source's end of live migrations: connects to the target agent's {@code MigrationService},
 * presents the scheduler's token, and has the hypervisor driver send the guest over the call.
 */
public final class MigrationSources {
    private static final Logger LOG = Logger.getLogger(MigrationSources.class);

    private final String host;
    private final HostDirectory directory;
    private final PeerChannels channels;
    private final HypervisorDriver driver;
    private final MigrationLimits defaults;
    private final Duration targetWait;
    private final Duration stallLimit;
    private final MigrationMeters meters;
    private final Map<String, Thread> running = new ConcurrentHashMap<>();
    private final Set<String> aborted = ConcurrentHashMap.newKeySet();

    /**
     * @param directory the targets' registered addresses: a command naming another is refused
     * @param channels how the target is reached: with TLS, its certificate must name the target host
     * @param defaults how migrations run unless a command says otherwise
     * @param targetWait how long the target may take to get ready (fetch images, build the guest)
     * @param stallLimit how long either side may wait for the other mid-stream
     */
    public MigrationSources(String host, HostDirectory directory, PeerChannels channels, HypervisorDriver driver,
                            MigrationLimits defaults, Duration targetWait, Duration stallLimit, MigrationMeters meters) {
        this.host = host;
        this.directory = directory;
        this.channels = channels;
        this.driver = driver;
        this.meters = meters;
        this.defaults = defaults;
        this.targetWait = targetWait;
        this.stallLimit = stallLimit;
    }

    /**
     * Moves the guest to the target the command names (blocking), through this host's driver: the
     * target runs the same driver (the scheduler sees to it), whose stream it is. The Hello tells the
     * target which of {@code attachments} (the instance's volumes) each volume slot holds, so that it
     * opens them in the same slots.
     *
     * @return empty when it completed (stop the guest here: it runs on the target), or why it was
     *         aborted (it runs here)
     * @throws RuntimeException the driver cannot, the target refused or failed, or the link broke;
     *         the guest runs here
     * @throws InterruptedException {@link #abort} was called; the guest runs here
     */
    public Optional<String> migrate(String instanceId, VirtualGuest guest, LiveMigrate command, long sequence,
                                    Collection<String> attachments) throws InterruptedException {
        if (!driver.capabilities().has(DriverCapabilities.Traits.LIVE_MIGRATION)) {
            throw new MigrationException("host " + host + " runs instance " + instanceId + " under a driver that"
                    + " cannot live-migrate (" + driver.capabilities().name() + ")");
        }
        MigrationLimits limits = command.getMaxDowntimeMs() > 0
                ? defaults.withMaxDowntime(Duration.ofMillis(command.getMaxDowntimeMs())) : defaults;
        Target target = new Target(command.getMigrationId(), command.getTargetHost(), command.getTargetAddress(),
                command.getToken());
        boolean completed = false;
        try {
            MigrationOutcome r = over(target, instanceId, sequence, guest.entropyDevice(),
                    guest.volumeSlots(attachments), channel -> driver.migrate(guest, channel, limits));
            completed = r.completed();
            if (completed) {
                meters.sent(r.total(), r.downtime());
                LOG.infof("instance %s: live migration %s to %s completed: %s", instanceId,
                        command.getMigrationId(), command.getTargetHost(), r.summary());
            }
            return r.aborted().map(a -> "the migration did not converge: " + a);
        } finally {
            meters.ended(MigrationMeters.Direction.OUT, MigrationMeters.Kind.LIVE, completed);
        }
    }

    /**
     * Copies a stopped guest's disk to the target the command names (blocking): returns once the
     * target has it durably. An instance without a disk only has the target acknowledge the move.
     *
     * @return the copy's figures; empty for an instance without a disk
     * @throws MigrationException the target refused or failed, or the link broke
     */
    public Optional<DiskCopyResult> copyDisk(String instanceId, Optional<Path> disk, MigrateDisk command,
                                             long sequence) throws InterruptedException {
        Target target = new Target(command.getMigrationId(), command.getTargetHost(), command.getTargetAddress(),
                command.getToken());
        boolean completed = false;
        try {
            Optional<DiskCopyResult> copied = copy(target, instanceId, disk, sequence);
            completed = true;
            copied.ifPresent(c -> LOG.infof("instance %s: disk copied to %s for move %s: %d bytes of data, %d of"
                    + " zeros in %d ms", instanceId, command.getTargetHost(), command.getMigrationId(), c.dataBytes(),
                    c.zeroBytes(), c.duration().toMillis()));
            return copied;
        } finally {
            meters.ended(MigrationMeters.Direction.OUT, MigrationMeters.Kind.COLD, completed);
        }
    }

    private Optional<DiskCopyResult> copy(Target target, String instanceId, Optional<Path> disk, long sequence)
            throws InterruptedException {
        // A cold move builds no VM on the way: the target boots its own when the move is done.
        return over(target, instanceId, sequence, false, List.of(), channel -> {
            if (disk.isEmpty()) {
                channel.close();
                try {
                    channel.awaitPeerEnd();
                } catch (IOException e) {
                    throw new MigrationException("target " + target.host() + " did not take instance " + instanceId
                            + ": " + e.getMessage(), e);
                }
                return Optional.empty();
            }
            try (DiskImage image = DiskImage.open(disk.get(), true)) {
                return Optional.of(DiskCopy.send(image, channel, channel));
            }
        });
    }

    /** Where a move goes, as the scheduler's command says. */
    private record Target(String migrationId, String host, String address, String token) {
    }

    /** What runs over an admitted call. */
    private interface Transfer<T> {
        T run(StreamChannel<MigrationMessage> channel) throws InterruptedException;
    }

    private <T> T over(Target target, String instanceId, long sequence, boolean entropyDevice,
                       List<String> volumeSlots, Transfer<T> transfer) throws InterruptedException {
        checkRegistered(target, instanceId);
        MigrationHello hello = MigrationHello.newBuilder().setMigrationId(target.migrationId())
                .setInstanceId(instanceId).setToken(target.token()).setSourceHost(host).setSequence(sequence)
                .setEntropyDevice(entropyDevice).addAllVolumeSlots(volumeSlots).build();
        ManagedChannel link = channels.open(target.address(), target.host(), 4 << 20);
        running.put(target.migrationId(), Thread.currentThread());
        try {
            StreamChannel<MigrationMessage> channel = connect(link, hello, target);
            try {
                return transfer.run(channel);
            } finally {
                channel.close();
            }
        } finally {
            running.remove(target.migrationId());
            // An abort interrupts this thread to end the transfer; what follows (the guest's rollback,
            // the record's write) must not see the interrupt: it would close the store's files.
            if (aborted.remove(target.migrationId()) && Thread.interrupted()) {
                LOG.debugf("migration %s: aborted", target.migrationId());
            }
            link.shutdownNow();
        }
    }

    /**
     * Refuses a target address other than the one the target host registered: the scheduler fills
     * it from the same reports, so only a forged or stale command differs, and this host's guest
     * (its memory and disk) must not go to whoever listens there.
     */
    private void checkRegistered(Target target, String instanceId) throws InterruptedException {
        Optional<String> registered;
        try {
            registered = directory.grpcAddress(target.host());
        } catch (RuntimeException e) {
            throw new MigrationException("migration " + target.migrationId() + " of instance " + instanceId
                    + " refused: the registered address of target host " + target.host() + " cannot be read ("
                    + e.getMessage() + ")", e);
        }
        if (registered.isEmpty()) {
            throw new MigrationException("migration " + target.migrationId() + " of instance " + instanceId
                    + " refused: target host " + target.host() + " has no registered gRPC address");
        }
        if (!registered.get().equals(target.address())) {
            throw new MigrationException("migration " + target.migrationId() + " of instance " + instanceId
                    + " refused: " + target.address() + " is not the registered gRPC address of target host "
                    + target.host() + " (" + registered.get() + ")");
        }
    }

    /** Stops the migration's stream; its {@link #migrate} ends with the guest running here. */
    public void abort(String migrationId) {
        running.computeIfPresent(migrationId, (id, t) -> {
            aborted.add(id);
            t.interrupt();
            return t;
        });
    }

    /** Opens the call and has the Hello accepted, trying again while the target is not ready yet. */
    private StreamChannel<MigrationMessage> connect(ManagedChannel link, MigrationHello hello, Target command)
            throws InterruptedException {
        TargetWait wait = new TargetWait(System.nanoTime(), targetWait, TargetWait.LOST_GRACE);
        while (true) {
            CompletableFuture<Void> accepted = new CompletableFuture<>();
            StreamChannel<MigrationMessage>[] holder = newHolder();
            @SuppressWarnings("unchecked")
            ClientCallStreamObserver<MigrationMessage>[] call = new ClientCallStreamObserver[1];
            var requests = MigrationServiceGrpc.newStub(link).migrate(new ClientResponseObserver<MigrationMessage, MigrationAck>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<MigrationMessage> out) {
                    out.disableAutoRequestWithInitial(1);
                    call[0] = out;
                    holder[0] = new StreamChannel<>(out, b -> MigrationMessage.newBuilder().setStream(b).build(),
                            () -> out.request(1), stallLimit);
                    out.setOnReadyHandler(() -> holder[0].onReady());
                }

                @Override
                public void onNext(MigrationAck ack) {
                    if (!accepted.isDone()) {
                        if (ack.getBodyCase() == MigrationAck.BodyCase.ACCEPTED && ack.getAccepted()) {
                            accepted.complete(null);
                            // The Hello's answer used the one message asked for: the stream needs the next.
                            call[0].request(1);
                        } else {
                            accepted.completeExceptionally(Status.INTERNAL.withDescription("the target answered the"
                                    + " Hello with " + ack.getBodyCase()).asRuntimeException());
                        }
                        return;
                    }
                    holder[0].onChunk(ack.getStream());
                }

                @Override
                public void onError(Throwable t) {
                    if (!accepted.completeExceptionally(t)) {
                        holder[0].onEnd(t);
                    }
                }

                @Override
                public void onCompleted() {
                    if (!accepted.completeExceptionally(Status.INTERNAL.withDescription("the target ended the call"
                            + " before accepting").asRuntimeException())) {
                        holder[0].onEnd(null);
                    }
                }
            });
            requests.onNext(MigrationMessage.newBuilder().setHello(hello).build());
            try {
                accepted.get(wait.left(System.nanoTime()), TimeUnit.NANOSECONDS);
                return holder[0];
            } catch (ExecutionException e) {
                Status s = Status.fromThrowable(e.getCause());
                holder[0].fail(Status.CANCELLED);
                Optional<String> givenUp = wait.after(s.getCode(), System.nanoTime());
                if (givenUp.isPresent()) {
                    throw new MigrationException("target " + command.host() + " (" + command.address()
                            + ") refused migration " + command.migrationId() + ": " + givenUp.get() + ": "
                            + StreamChannel.describe(e.getCause()));
                }
                LOG.debugf("migration %s: target %s not ready yet (%s)", command.migrationId(),
                        command.host(), s);
                Thread.sleep(250);
            } catch (TimeoutException e) {
                holder[0].fail(Status.CANCELLED);
                throw new MigrationException("target " + command.host() + " (" + command.address()
                        + ") did not accept migration " + command.migrationId() + " within "
                        + targetWait.toSeconds() + " s");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static StreamChannel<MigrationMessage>[] newHolder() {
        return (StreamChannel<MigrationMessage>[]) new StreamChannel<?>[1];
    }
}
