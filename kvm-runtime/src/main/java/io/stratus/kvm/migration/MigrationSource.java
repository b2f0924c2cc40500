package io.stratus.kvm.migration;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.snapshot.SnapshotCodec;
import io.stratus.kvm.snapshot.VmSnapshot;
import io.stratus.kvm.virtio.block.DirtyBlocks;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.vm.VirtualMachine;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The sending side of a pre-copy live migration.
 *
 * <pre>{@code
 * MigrationResult r = MigrationSource.migrate(vm, socket, MigrationSettings.defaults());
 * if (r.completed()) {
 *     vm.close();            // the guest runs on the target now
 * }                          // else it still runs here; r.abortedReason() says why
 * }</pre>
 *
 * <p>Round 1 sends all of guest RAM while the guest runs (pages of zeros as a flag only); each
 * further round sends the pages dirtied during the one before (see
 * {@link VirtualMachine#startDirtyTracking()} for what counts as dirty). Once the pages left can
 * go out within {@link MigrationSettings#maxDowntime()} at the bandwidth measured so far, the guest
 * is paused, the last dirty pages and the machine state are sent, and the target restores and
 * starts the guest. The source reports success only when the target has acknowledged that the
 * guest runs there; the caller then closes the source VM (it stays paused until then).
 *
 * <p>With {@link MigrationSettings#migrateDisks()}, the writable disks move too (the target has its
 * own, fresh disk files): round 1 also sends every block of each writable disk that holds
 * something of the image's own (a qcow2 overlay's allocated or zeroed clusters, every non-zero
 * block of a raw image), later rounds the blocks the guest changed meanwhile (see
 * {@link VirtioBlock#startDirtyTracking()}), and the switch-over the last changed blocks once the
 * devices are quiesced, before the machine state. Blocks of zeros travel as zero runs. Read-only
 * disks are not sent: they must be identical on both hosts; nor are disks on an NBD export or the
 * volumes in volume slots, which the target connects to again (their state names the export).
 *
 * <p>When the guest dirtied at least 90% as many pages while a round ran as the round sent (from
 * round 2 on: the dirty rate keeps up with the link), the vCPUs are throttled one more
 * {@link MigrationSettings#throttleStep()}, up to {@link MigrationSettings#maxThrottle()}. A migration that has not converged after
 * {@link MigrationSettings#maxRounds()} rounds is aborted: the target is told to discard what it
 * has, and the guest runs on here untouched (unthrottled, tracking off). A broken connection or an
 * error reported by the target before the switch-over is a {@link MigrationException}, with the
 * guest running here again.
 *
 * <p>Channels must be in blocking mode. To cancel a migration, close the channel (or interrupt the
 * migrating thread, which closes an interruptible channel): it then fails like a broken
 * connection, with the guest running on here. Closing the VM meanwhile ends the migration too
 * (a {@link MigrationException} that says so), after which the VM is freed: the migration holds
 * its memory ({@link VirtualMachine#holdMemory()}). Not thread-safe: one migration of a VM at a time.
 */
public final class MigrationSource {
    private static final System.Logger LOG = System.getLogger(MigrationSource.class.getName());
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;

    private final VirtualMachine vm;
    private final MigrationSettings settings;
    private final FrameReader in;
    private final FrameWriter out;
    private final long startNanos = System.nanoTime();
    private int rounds;
    private int maxThrottle;
    /** The disks whose content moves (writable ones, when the settings ask for it), by index. */
    private final List<Integer> movingDisks = new ArrayList<>();

    private MigrationSource(VirtualMachine vm, MigrationSettings settings, ReadableByteChannel fromTarget,
                            WritableByteChannel toTarget) {
        this.vm = vm;
        this.settings = settings;
        this.in = new FrameReader(fromTarget, "the target");
        this.out = new FrameWriter(toTarget, settings.bandwidthLimit());
    }

    /** {@link #migrate(VirtualMachine, ReadableByteChannel, WritableByteChannel, MigrationSettings)} over one channel (a socket). */
    public static MigrationResult migrate(VirtualMachine vm, ByteChannel target, MigrationSettings settings)
            throws InterruptedException {
        return migrate(vm, target, target, settings);
    }

    /**
     * Migrates the running guest of {@code vm} to the target at the other end of the channels.
     *
     * @return a completed result (close {@code vm} now: it stays paused, its dirty-page tracking
     *         still on), or an aborted one (the guest runs on here, tracking off)
     * @throws MigrationException the connection broke or the target failed; the guest runs on here.
     *         Or the VM was closed meanwhile
     * @throws InterruptedException the calling thread was interrupted; the guest runs on here
     */
    public static MigrationResult migrate(VirtualMachine vm, ReadableByteChannel fromTarget,
                                          WritableByteChannel toTarget, MigrationSettings settings)
            throws InterruptedException {
        if (vm.state() != VirtualMachine.State.RUNNING) {
            throw new IllegalStateException("VM " + vm.config().name() + " is " + vm.state() + ", not RUNNING");
        }
        Sockets.noDelay(toTarget);
        VirtualMachine.MemoryHold hold = vm.holdMemory();
        try {
            return new MigrationSource(vm, settings, fromTarget, toTarget).run();
        } catch (MigrationException | InterruptedException e) {
            if (hold.cancelled()) {
                throw new MigrationException("migration of " + vm.config().name() + " ended: the VM was closed", e);
            }
            throw e;
        } finally {
            hold.close();
        }
    }

    private MigrationResult run() throws InterruptedException {
        GuestMemory memory = vm.memory();
        PageSender pages = new PageSender(memory, out, settings.compress());
        DiskSender disks = new DiskSender(out);
        List<VirtioBlock> blocks = vm.blockDevices();
        if (settings.migrateDisks()) {
            for (int i = 0; i < blocks.size(); i++) {
                // A disk on an NBD export is shared storage: the target connects to it, nothing is copied.
                if (blocks.get(i).image().isPresent() && !blocks.get(i).disk().readOnly()) {
                    movingDisks.add(i);
                }
            }
        }
        String phase = "the handshake";
        try {
            out.write(Frame.Type.HELLO, MemoryLayout.of(vm, settings.migrateDisks()).encode());
            expect(Frame.Type.ACCEPT);
            vm.startDirtyTracking();
            // Tracking first, then what the images hold: a write that lands in between is in both.
            List<BitSet> pendingBlocks = new ArrayList<>();
            for (int i : movingDisks) {
                blocks.get(i).startDirtyTracking();
            }
            for (int i : movingDisks) {
                try {
                    pendingBlocks.add(blocks.get(i).disk().ownBlocks(DirtyBlocks.BLOCK_SIZE));
                } catch (IOException e) {
                    throw new MigrationException("reading disk " + i + " (" + blocks.get(i).disk().path()
                            + ") failed: " + e.getMessage(), e);
                }
            }
            DirtyPages pending = DirtyPages.all(memory.pageCount());
            long sendNanos = 0;
            long sentBytes = 0;
            int throttle = 0;
            while (true) {
                rounds++;
                phase = "round " + rounds;
                long roundStart = System.nanoTime();
                long bytesBefore = out.bytes();
                long roundPages = pending.count();
                long roundBlocks = count(pendingBlocks);
                pages.send(pending);
                sendDisks(disks, blocks, pendingBlocks);
                out.write(Frame.Type.ROUND_END, ByteBuffer.allocate(4).putInt(0, rounds));
                // Waiting for the target to have applied the round makes the bandwidth the end-to-end
                // rate (not the rate into socket buffers), and leaves no backlog to the switch-over.
                awaitRoundAck(rounds);
                long roundNanos = System.nanoTime() - roundStart;
                sendNanos += roundNanos;
                sentBytes += out.bytes() - bytesBefore;
                requireRunning();
                pending = vm.takeDirtyPages();
                pendingBlocks = takeDirtyBlocks(blocks);
                long dirtyBlocks = count(pendingBlocks);
                // What the pages and blocks left will cost at the switch-over, at the bandwidth seen so far
                // (a dirty block counted whole: a zero block is cheaper, a partial last block is shorter).
                double bandwidth = sentBytes / Math.max(sendNanos / 1e9, 1e-6);
                double bytesPerPage = pages.pagesSent() == 0 ? PAGE
                        : Math.min(PAGE + 16, (double) (sentBytes - disks.dataBytes()) / pages.pagesSent());
                double remaining = pending.count() * Math.max(bytesPerPage, 1)
                        + dirtyBlocks * (double) (DirtyBlocks.BLOCK_SIZE + Frame.DISK_DATA_HEADER);
                Duration estimate = Duration.ofNanos((long) (remaining / bandwidth * 1e9));
                LOG.log(Level.DEBUG, "{0}: round {1}: {2} bytes in {3} ms; {4} pages and {5} disk blocks dirty, {6} ms"
                                + " to send at {7} MB/s", vm.config().name(), rounds, out.bytes() - bytesBefore,
                        roundNanos / 1_000_000, pending.count(), dirtyBlocks, estimate.toMillis(),
                        (long) (bandwidth / 1e6));
                if (estimate.compareTo(settings.maxDowntime()) <= 0) {
                    break;
                }
                if (rounds >= settings.maxRounds()) {
                    String reason = String.format("not converged after %d rounds: %d pages%s dirty would take %d ms"
                            + " at %.1f MB/s, more than the maximum downtime of %d ms (vCPUs throttled to %d%%)",
                            rounds, pending.count(), movingDisks.isEmpty() ? "" : " and " + dirtyBlocks + " disk blocks",
                            estimate.toMillis(), bandwidth / 1e6, settings.maxDowntime().toMillis(), throttle);
                    return abort(reason, pages, disks);
                }
                // The guest dirtied (nearly) as many pages while the round ran as the round sent: it
                // dirties memory as fast as the link carries it, and more rounds will not shrink the rest.
                // A disk block weighs as the pages of its size.
                long pagesPerBlock = DirtyBlocks.BLOCK_SIZE / PAGE;
                boolean beatingTheLink = pending.count() + dirtyBlocks * pagesPerBlock
                        >= 0.9 * (roundPages + roundBlocks * pagesPerBlock);
                if (rounds >= 2 && beatingTheLink && throttle < settings.maxThrottle() && settings.throttleStep() > 0) {
                    throttle = Math.min(settings.maxThrottle(), throttle + settings.throttleStep());
                    maxThrottle = Math.max(maxThrottle, throttle);
                    vm.throttle(throttle);
                    LOG.log(Level.INFO, "{0}: {1} pages dirtied while round {2} sent {3} at {4} MB/s: vCPUs throttled to {5}%",
                            vm.config().name(), pending.count(), rounds, roundPages, (long) (bandwidth / 1e6), throttle);
                }
            }
            phase = "the switch-over";
            vm.throttle(0);
            long pausedAt = System.nanoTime();
            vm.pause();
            rounds++;
            pages.send(pending.union(vm.takeDirtyPages()));
            // The devices are quiesced: every write the guest made has completed and is marked.
            List<BitSet> lastBlocks = takeDirtyBlocks(blocks);
            for (int k = 0; k < lastBlocks.size(); k++) {
                lastBlocks.get(k).or(pendingBlocks.get(k));
            }
            sendDisks(disks, blocks, lastBlocks);
            VmSnapshot state;
            try {
                state = vm.captureState();
            } catch (IOException e) {
                throw new MigrationException("flushing the guest's disks failed (" + e.getMessage() + ")", e);
            }
            out.write(Frame.Type.STATE, ByteBuffer.wrap(SnapshotCodec.encode(state)));
            expect(Frame.Type.RUNNING);
            Duration downtime = Duration.ofNanos(System.nanoTime() - pausedAt);
            // The guest runs on the target and this VM is closed next: its dirty log stays on. Turning
            // it off registers the memory slots again, which cost KVM 0.1 to 11 ms here, for nothing.
            stopDiskTracking();
            MigrationResult result = new MigrationResult(rounds, pages.pagesSent(), pages.zeroPages(), out.bytes(),
                    elapsed(), downtime, maxThrottle, Optional.empty(), disks.dataBytes(), disks.zeroBytes());
            LOG.log(Level.INFO, "{0}: migrated: {1}", vm.config().name(), result);
            return result;
        } catch (IOException e) {
            throw recover(new MigrationException("migration of " + vm.config().name() + " failed in " + phase
                    + ": the connection to the target broke (" + e.getMessage() + "); the guest runs on here", e));
        } catch (MigrationException e) {
            throw recover(new MigrationException("migration of " + vm.config().name() + " failed in " + phase + ": "
                    + e.getMessage() + "; the guest runs on here", e));
        } catch (InterruptedException e) {
            recover(null);
            throw e;
        } catch (RuntimeException e) {
            throw recover(new MigrationException("migration of " + vm.config().name() + " failed in " + phase + ": "
                    + e.getMessage() + "; the guest runs on here", e));
        } finally {
            pages.close();
            disks.close();
        }
    }

    private void sendDisks(DiskSender disks, List<VirtioBlock> blocks, List<BitSet> pendingBlocks)
            throws IOException, InterruptedException {
        for (int k = 0; k < movingDisks.size(); k++) {
            int i = movingDisks.get(k);
            disks.send(i, blocks.get(i).disk(), pendingBlocks.get(k));
        }
    }

    private List<BitSet> takeDirtyBlocks(List<VirtioBlock> blocks) {
        List<BitSet> dirty = new ArrayList<>();
        for (int i : movingDisks) {
            dirty.add(blocks.get(i).takeDirtyBlocks());
        }
        return dirty;
    }

    private static long count(List<BitSet> sets) {
        long n = 0;
        for (BitSet s : sets) {
            n += s.cardinality();
        }
        return n;
    }

    private void stopDiskTracking() {
        List<VirtioBlock> blocks = vm.blockDevices();
        for (int i : movingDisks) {
            blocks.get(i).stopDirtyTracking();
        }
    }

    private void requireRunning() {
        if (vm.state() != VirtualMachine.State.RUNNING) {
            throw new MigrationException("the guest stopped (" + vm.state() + ")");
        }
    }

    /** Gives up before the switch-over: the target discards, the guest goes on here. */
    private MigrationResult abort(String reason, PageSender pages, DiskSender disks) throws InterruptedException {
        LOG.log(Level.WARNING, "{0}: migration aborted: {1}", vm.config().name(), reason);
        recover(null);
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        try {
            out.write(Frame.Type.ABORT, ByteBuffer.wrap(text, 0, Math.min(text.length, Frame.MAX_TEXT_PAYLOAD)));
        } catch (IOException e) {
            // The target sees the connection end instead: it discards just the same.
            LOG.log(Level.DEBUG, "could not tell the target: {0}", e.toString());
        }
        return new MigrationResult(rounds, pages.pagesSent(), pages.zeroPages(), out.bytes(), elapsed(), Duration.ZERO,
                maxThrottle, Optional.of(reason), disks.dataBytes(), disks.zeroBytes());
    }

    /** Puts the guest back as it was: unthrottled, not tracking, running. Returns {@code error}. */
    private MigrationException recover(MigrationException error) {
        boolean interrupted = Thread.interrupted();
        try {
            while (true) {
                try {
                    vm.throttle(0);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            vm.stopDirtyTracking();
            stopDiskTracking();
            if (vm.state() == VirtualMachine.State.PAUSED) {
                vm.resume();
            }
        } catch (RuntimeException e) {
            if (error != null) {
                error.addSuppressed(e);
            } else {
                throw e;
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return error;
    }

    private void awaitRoundAck(int round) throws IOException {
        Frame f = in.next(Set.of(Frame.Type.ROUND_ACK, Frame.Type.ERROR));
        if (f.type() == Frame.Type.ERROR) {
            throw new MigrationException("the target reported: " + StandardCharsets.UTF_8.decode(f.payload()));
        }
        int acked = f.payload().remaining() == 4 ? f.payload().getInt(0) : -1;
        if (acked != round) {
            throw new MigrationException("malformed answer from the target: round " + acked + " acknowledged after round "
                    + round);
        }
    }

    private void expect(Frame.Type type) throws IOException {
        Frame f = in.next(Set.of(type, Frame.Type.ERROR));
        if (f.type() == Frame.Type.ERROR) {
            throw new MigrationException("the target reported: " + StandardCharsets.UTF_8.decode(f.payload()));
        }
    }

    private Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }
}
