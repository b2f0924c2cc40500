package io.stratus.kvm.migration;

import io.stratus.kvm.snapshot.SnapshotCodec;
import io.stratus.kvm.snapshot.VmSnapshot;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmExit;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The receiving side of a live migration (see {@link MigrationSource}).
 *
 * <pre>{@code
 * VirtualMachine vm = VirtualMachine.createIncoming(sameConfig, console);
 * try {
 *     MigrationTarget.receive(vm, socket);   // returns with the guest running in vm
 * } catch (MigrationException e) {
 *     vm.close();                            // nothing of the guest is kept here
 * }
 * }</pre>
 *
 * <p>The target checks the source's memory layout against its own before it accepts the stream,
 * then writes the pages into its guest RAM, starts the vCPU threads held at the pause gate once
 * the first round is in ({@link VirtualMachine#startHeld()}), restores the machine state at the
 * switch-over, acknowledges, and lets the vCPUs into the guest. When the source moves the disks, their blocks are written into this VM's own disk
 * images (which must have the source's sizes and read-only flags; a qcow2 overlay a fresh one over
 * an identical base), and the images are flushed before the guest starts. The stream is hostile input: a malformed frame, a page outside guest RAM, a
 * length beyond its frame's limit, a stream that never sent some page, or a state that does not
 * fit is a {@link MigrationException} (and reported to the source), never an unchecked exception
 * or an allocation the declared layout does not justify. Closing the VM meanwhile ends the
 * receiving with a {@link MigrationException}; the VM is freed once it has (the receiving holds
 * its memory: {@link VirtualMachine#holdMemory()}).
 */
public final class MigrationTarget {
    private static final System.Logger LOG = System.getLogger(MigrationTarget.class.getName());
    private static final Set<Frame.Type> STREAM = EnumSet.of(Frame.Type.PAGES, Frame.Type.ROUND_END,
            Frame.Type.STATE, Frame.Type.ABORT);
    private static final Set<Frame.Type> STREAM_WITH_DISKS = EnumSet.of(Frame.Type.PAGES, Frame.Type.DISK,
            Frame.Type.ROUND_END, Frame.Type.STATE, Frame.Type.ABORT);

    private MigrationTarget() {
    }

    /** {@link #receive(VirtualMachine, ReadableByteChannel, WritableByteChannel)} over one channel (a socket). */
    public static MigrationResult receive(VirtualMachine vm, ByteChannel source) {
        return receive(vm, source, source, v -> {
        });
    }

    /**
     * {@link #receive(VirtualMachine, ReadableByteChannel, WritableByteChannel, Consumer)} over one
     * channel (a socket).
     */
    public static MigrationResult receive(VirtualMachine vm, ByteChannel source, Consumer<VirtualMachine> accept) {
        return receive(vm, source, source, accept);
    }

    /** {@link #receive(VirtualMachine, ReadableByteChannel, WritableByteChannel, Consumer)}, the guest taken as it comes. */
    public static MigrationResult receive(VirtualMachine vm, ReadableByteChannel fromSource,
                                          WritableByteChannel toSource) {
        return receive(vm, fromSource, toSource, v -> {
        });
    }

    /**
     * Receives a guest into {@code vm}, built by {@link VirtualMachine#createIncoming} from the
     * source's configuration and not started, and starts it.
     *
     * <p>The restored guest runs here only if every volume in its volume slots was reached again
     * (their state names the exports) and {@code accept} takes it: {@code accept} sees the restored,
     * not yet running VM (its owner checks that each slot holds the volume it expects, say) and
     * refuses it by throwing. A refused guest is reported to the source, which lets it run on there.
     *
     * @return what arrived; the guest runs in {@code vm}
     * @throws MigrationException the source aborted, the connection broke, or the stream or state
     *         was unusable; close {@code vm}
     */
    public static MigrationResult receive(VirtualMachine vm, ReadableByteChannel fromSource,
                                          WritableByteChannel toSource, Consumer<VirtualMachine> accept) {
        if (vm.state() != VirtualMachine.State.CREATED) {
            throw new IllegalStateException("VM " + vm.config().name() + " is " + vm.state()
                    + "; a migration target must be built by VirtualMachine.createIncoming and not started");
        }
        Sockets.noDelay(toSource);
        VirtualMachine.MemoryHold hold = vm.holdMemory();
        try {
            return receive(vm, fromSource, toSource, hold, accept);
        } finally {
            hold.close();
        }
    }

    private static MigrationResult receive(VirtualMachine vm, ReadableByteChannel fromSource,
                                           WritableByteChannel toSource, VirtualMachine.MemoryHold hold,
                                           Consumer<VirtualMachine> accept) {
        long start = System.nanoTime();
        FrameReader in = new FrameReader(fromSource, "the source");
        FrameWriter out = new FrameWriter(toSource, java.util.OptionalLong.empty());
        PageReceiver pages = new PageReceiver(vm.memory());
        List<DiskImage> images = new ArrayList<>();
        vm.blockDevices().forEach(b -> images.add(b.image().orElse(null)));
        DiskReceiver disks = new DiskReceiver(images);
        int rounds = 0;
        try {
            MemoryLayout theirs = MemoryLayout.decode(in.next(Set.of(Frame.Type.HELLO)).payload());
            MemoryLayout ours = MemoryLayout.of(vm, theirs.migrateDisks());
            if (!theirs.sameMachine(ours)) {
                throw new MigrationException("the source's guest (" + theirs + ") does not match this VM ("
                        + ours + "): build the target from the source's configuration");
            }
            if (!theirs.disks().equals(ours.disks())) {
                throw new MigrationException("the source's disks " + theirs.disks() + " do not match this VM's "
                        + ours.disks() + ": " + (theirs.migrateDisks()
                        ? "give the target disks of the same sizes and read-only flags (for a qcow2 overlay, a fresh"
                                + " overlay of the same virtual size over an identical base)"
                        : "attach the same disks (shared storage)"));
            }
            out.write(Frame.Type.ACCEPT);
            Set<Frame.Type> stream = theirs.migrateDisks() ? STREAM_WITH_DISKS : STREAM;
            while (true) {
                Frame f = in.next(stream);
                switch (f.type()) {
                    case PAGES -> pages.apply(f.payload());
                    case DISK -> disks.apply(f.payload());
                    case ROUND_END -> {
                        if (f.payload().remaining() != 4) {
                            throw new MigrationException("malformed migration stream from the source: a ROUND_END"
                                    + " frame of " + f.payload().remaining() + " bytes");
                        }
                        rounds = f.payload().getInt(0);
                        out.write(Frame.Type.ROUND_ACK, ByteBuffer.allocate(4).putInt(0, rounds));
                        if (vm.state() == VirtualMachine.State.CREATED) {
                            // The vCPU threads start now, held before the guest, while the source
                            // decides on the next round or pauses: at the switch-over, letting them
                            // in is all that is left of starting the guest.
                            vm.startHeld();
                        }
                    }
                    case ABORT -> throw new MigrationException("the source aborted the migration: "
                            + StandardCharsets.UTF_8.decode(f.payload()));
                    case STATE -> {
                        long stateAt = System.nanoTime();
                        if (!pages.complete()) {
                            throw new MigrationException("malformed migration stream from the source: page "
                                    + pages.firstMissing() + " never arrived");
                        }
                        byte[] state = new byte[f.payload().remaining()];
                        f.payload().get(state);
                        if (theirs.migrateDisks()) {
                            // Durable before the guest runs here: the source's copy is gone once it closes.
                            disks.flush();
                        }
                        VmSnapshot snapshot = decode(state);
                        if (vm.state() == VirtualMachine.State.CREATED) {
                            vm.startHeld();
                        }
                        restore(vm, snapshot, accept);
                        try {
                            out.write(Frame.Type.RUNNING);
                        } catch (IOException e) {
                            // Unacknowledged, the source resumes the guest there: it must not run here too
                            // (it has not yet: the vCPUs are still held).
                            vm.stop();
                            throw e;
                        }
                        // Everything that can fail is done: the answer goes first, so that on a busy host
                        // the source reads it before this guest's vCPUs compete for the cores.
                        vm.resume();
                        // The pages sent while the source was paused are the last round, without a ROUND_END.
                        MigrationResult result = new MigrationResult(rounds + 1, pages.pagesReceived(), pages.zeroPages(),
                                in.bytes(), Duration.ofNanos(System.nanoTime() - start),
                                Duration.ofNanos(System.nanoTime() - stateAt), 0, Optional.empty(), disks.dataBytes(),
                                disks.zeroBytes());
                        LOG.log(Level.INFO, "{0}: received by migration: {1}", vm.config().name(), result);
                        return result;
                    }
                    default -> throw new IllegalStateException("FrameReader let through " + f.type());
                }
            }
        } catch (MigrationException e) {
            reportError(out, e.getMessage());
            throw e;
        } catch (IOException e) {
            if (hold.cancelled()) {
                throw new MigrationException("the VM receiving the migration was closed", e);
            }
            throw new MigrationException("the connection to the source broke: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            if (hold.cancelled()) {
                throw new MigrationException("the VM receiving the migration was closed", e);
            }
            Thread.currentThread().interrupt();
            throw new MigrationException("interrupted while receiving a migration", e);
        } catch (RuntimeException e) {
            if (hold.cancelled()) {
                throw new MigrationException("the VM receiving the migration was closed", e);
            }
            throw e;
        } finally {
            pages.close();
            disks.close();
        }
    }

    /** The machine state, input from the other host: one that cannot be read is a {@link MigrationException}. */
    private static VmSnapshot decode(byte[] state) {
        try {
            return SnapshotCodec.decode(state, "the migration stream's machine state");
        } catch (RuntimeException e) {
            throw new MigrationException("the incoming guest cannot be restored here: " + e.getMessage(), e);
        }
    }

    /**
     * Sets the machine state; the vCPUs stay held until {@link VirtualMachine#resume()}. Whatever in
     * the state does not fit this VM (a {@code SnapshotException}, a vCPU id out of range, KVM
     * refusing a register) is a {@link MigrationException}, and so is a vCPU thread that failed
     * while held.
     */
    private static void restore(VirtualMachine vm, VmSnapshot snapshot, Consumer<VirtualMachine> accept)
            throws InterruptedException {
        try {
            vm.restoreState(snapshot);
        } catch (RuntimeException e) {
            throw new MigrationException("the incoming guest cannot be restored here: " + e.getMessage(), e);
        }
        // A restored slot whose server was not reached would give the guest I/O errors here, where the
        // source still reaches it: the guest had better run on there.
        for (VirtioBlock slot : vm.volumeSlots()) {
            Optional<String> why = slot.unreachable();
            if (why.isPresent()) {
                throw new MigrationException("the incoming guest's volume cannot be reached from this host: "
                        + why.get());
            }
        }
        try {
            accept.accept(vm);
        } catch (RuntimeException e) {
            throw new MigrationException("the incoming guest was refused here: " + e.getMessage(), e);
        }
        Optional<VmExit> ended = vm.awaitExit(Duration.ZERO);
        if (ended.isPresent()) {
            throw new MigrationException("the incoming guest cannot run here: its vCPUs ended before it ran ("
                    + ended.get().reason() + ": " + ended.get().detail() + ")");
        }
    }

    /** Tells the source why, if the connection still takes it. */
    private static void reportError(FrameWriter out, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        try {
            out.write(Frame.Type.ERROR, ByteBuffer.wrap(text, 0, Math.min(text.length, Frame.MAX_TEXT_PAYLOAD)));
        } catch (IOException | InterruptedException | RuntimeException e) {
            LOG.log(Level.DEBUG, "could not report the migration error to the source: {0}", e.toString());
        }
    }
}
