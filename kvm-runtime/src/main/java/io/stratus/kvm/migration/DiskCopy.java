package io.stratus.kvm.migration;

import io.stratus.kvm.virtio.block.DirtyBlocks;
import io.stratus.kvm.virtio.block.DiskImage;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Copies a stopped guest's disk to a disk of its own on another host (cold migration, a resize onto
 * another host), over any pair of blocking channels, with the live stream's checked DISK frames.
 *
 * <p>What moves is what the source image holds of its own ({@link DiskImage#ownBlocks}, read through
 * the format): for a qcow2 overlay the clusters allocated or zeroed in the overlay, so the target
 * must be a fresh, empty overlay over an identical copy of the same base; for a raw image every
 * block. Blocks of zeros travel as zero ranges. The target's disk may be larger than the source's
 * (a resize); what lies past the source's size is left as the target has it.
 *
 * <pre>{@code
 * // Target host: a fresh disk, opened writable (and so locked) by the caller.
 * try (DiskImage disk = DiskImage.open(targetPath, false)) {
 *     DiskCopy.receive(disk, fromSource, toSource);   // returns once the copy is flushed
 * }
 * // Source host: the guest is stopped.
 * try (DiskImage disk = DiskImage.open(sourcePath, true)) {
 *     DiskCopy.send(disk, fromTarget, toTarget);      // returns once the target acknowledged
 * }
 * }</pre>
 *
 * <p>The stream (MIGRATION.md, "Cold disk copy"): HELLO with magic {@code "STRDISK\0"}, version,
 * the disk's size and sector size; the target answers ACCEPT, or ERROR (a larger disk than its own,
 * another version); then DISK frames, DISK_END with the byte counts, and the target's DISK_ACK
 * after {@code flush()}, or ERROR (the source sends ABORT instead where it fails itself).
 * Everything from the other end is checked as hostile input.
 *
 * <p>Neither end has a timeout: a peer that stops sending blocks the other until the channel is
 * closed, which the caller does to give up (the blocked call then fails). After a failure on
 * either end the target's disk holds an unfinished copy: discard it.
 */
public final class DiskCopy {
    private static final System.Logger LOG = System.getLogger(DiskCopy.class.getName());
    /** {@code "STRDISK\0"}: not the live stream's {@code "STRMIGR\0"}, so neither end takes the other's. */
    static final byte[] MAGIC = {'S', 'T', 'R', 'D', 'I', 'S', 'K', 0};
    static final int VERSION = 1;
    /** Magic u64, version u32, disk size u64, sector size u32. */
    static final int HELLO_SIZE = 8 + 4 + 8 + 4;
    private static final int BLOCK = DirtyBlocks.BLOCK_SIZE;
    private static final Set<Frame.Type> STREAM = EnumSet.of(Frame.Type.DISK, Frame.Type.DISK_END,
            Frame.Type.ABORT);

    private DiskCopy() {
    }

    /**
     * Sends the blocks {@code source} holds of its own to a {@link #receive} at the other end, and
     * returns once the target acknowledged them flushed: a returned send means the copy is durable
     * there. The guest using {@code source} must be stopped for the whole call (nothing tracks
     * writes made meanwhile); {@code source} may be open read-only.
     *
     * @throws MigrationException the target refused (a smaller disk, another version) or failed
     *         (with its message), the connection broke, or {@code source} could not be read
     */
    public static DiskCopyResult send(DiskImage source, ReadableByteChannel fromTarget, WritableByteChannel toTarget) {
        long start = System.nanoTime();
        Sockets.noDelay(toTarget);
        FrameReader in = new FrameReader(fromTarget, "the target");
        FrameWriter out = new FrameWriter(toTarget, OptionalLong.empty());
        long size = source.capacity();
        try (DiskSender sender = new DiskSender(out)) {
            ByteBuffer hello = ByteBuffer.allocate(HELLO_SIZE).put(MAGIC).putInt(VERSION).putLong(size)
                    .putInt(DiskImage.SECTOR_SIZE).flip();
            out.write(Frame.Type.HELLO, hello);
            answer(in, Frame.Type.ACCEPT);
            BitSet blocks;
            try {
                blocks = source.ownBlocks(BLOCK);
            } catch (IOException e) {
                throw new MigrationException("reading the allocation of " + source.path() + " failed: "
                        + e.getMessage(), e);
            }
            sender.send(0, source, blocks);
            out.write(Frame.Type.DISK_END, ByteBuffer.allocate(16).putLong(sender.dataBytes())
                    .putLong(sender.zeroBytes()).flip());
            answer(in, Frame.Type.DISK_ACK);
            DiskCopyResult result = new DiskCopyResult(size, sender.dataBytes(), sender.zeroBytes(), out.bytes(),
                    Duration.ofNanos(System.nanoTime() - start));
            LOG.log(Level.INFO, "{0}: disk copied to the target: {1}", source.path(), result);
            return result;
        } catch (MigrationException e) {
            report(out, Frame.Type.ABORT, e.getMessage());
            throw e;
        } catch (IOException e) {
            throw new MigrationException("the connection to the target broke while copying " + source.path() + ": "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("interrupted while copying " + source.path(), e);
        }
    }

    /** The target's next frame, which must be {@code expected}; its ERROR is this end's exception. */
    private static void answer(FrameReader in, Frame.Type expected) throws IOException {
        Frame f = in.next(Set.of(expected, Frame.Type.ERROR));
        if (f.type() == Frame.Type.ERROR) {
            throw new MigrationException("the disk copy failed on the target: "
                    + StandardCharsets.UTF_8.decode(f.payload()));
        }
        if (f.payload().hasRemaining()) {
            throw new MigrationException("malformed disk copy stream from the target: a " + f.type() + " frame of "
                    + f.payload().remaining() + " bytes");
        }
    }

    /**
     * Receives a {@link #send} into {@code target}, which must be writable and at least as large as
     * the source's disk and, for a qcow2 overlay, fresh over an identical copy of the source's base.
     * Flushes {@code target} and acknowledges; returns once the acknowledgement is written. On a
     * failure the source is told why where the connection still takes it.
     *
     * @throws MigrationException the source's disk is larger or of another version, the stream was
     *         malformed or ended early, the connection broke, or {@code target} could not be written;
     *         {@code target} then holds an unfinished copy
     */
    public static DiskCopyResult receive(DiskImage target, ReadableByteChannel fromSource,
                                         WritableByteChannel toSource) {
        long start = System.nanoTime();
        Sockets.noDelay(toSource);
        FrameReader in = new FrameReader(fromSource, "the source");
        FrameWriter out = new FrameWriter(toSource, OptionalLong.empty());
        try {
            long size = hello(in.next(Set.of(Frame.Type.HELLO)).payload(), target);
            out.write(Frame.Type.ACCEPT);
            try (DiskReceiver disks = new DiskReceiver(List.of(target), new long[] {size})) {
                while (true) {
                    Frame f = in.next(STREAM);
                    if (f.type() == Frame.Type.DISK) {
                        disks.apply(f.payload());
                        continue;
                    }
                    if (f.type() == Frame.Type.ABORT) {
                        throw new MigrationException("the source aborted the disk copy: "
                                + StandardCharsets.UTF_8.decode(f.payload()));
                    }
                    ByteBuffer end = f.payload();
                    if (end.remaining() != 16) {
                        throw malformed("a DISK_END frame of " + end.remaining() + " bytes");
                    }
                    long data = end.getLong();
                    long zero = end.getLong();
                    if (data != disks.dataBytes() || zero != disks.zeroBytes()) {
                        throw malformed("the source sent " + data + " data and " + zero + " zero bytes, but "
                                + disks.dataBytes() + " and " + disks.zeroBytes() + " arrived");
                    }
                    // Durable before the source hears of it: it may delete its copy then.
                    disks.flush();
                    out.write(Frame.Type.DISK_ACK);
                    DiskCopyResult result = new DiskCopyResult(size, data, zero, in.bytes(),
                            Duration.ofNanos(System.nanoTime() - start));
                    LOG.log(Level.INFO, "{0}: disk copy received: {1}", target.path(), result);
                    return result;
                }
            }
        } catch (MigrationException e) {
            report(out, Frame.Type.ERROR, e.getMessage());
            throw e;
        } catch (IOException e) {
            throw new MigrationException("the connection to the source broke while copying into " + target.path()
                    + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("interrupted while copying into " + target.path(), e);
        }
    }

    /** The source's disk size from its HELLO, if {@code target} can take it. */
    private static long hello(ByteBuffer payload, DiskImage target) {
        long size;
        int sector;
        try {
            byte[] magic = new byte[MAGIC.length];
            payload.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw malformed(Arrays.equals(magic, MemoryLayout.MAGIC)
                        ? "a live migration's HELLO, not a disk copy's: connect it to MigrationTarget"
                        : "not a disk copy stream (its magic is not \"STRDISK\")");
            }
            int version = payload.getInt();
            if (version != VERSION) {
                throw new MigrationException("the source speaks disk copy version " + version + ", this target "
                        + VERSION);
            }
            size = payload.getLong();
            sector = payload.getInt();
        } catch (BufferUnderflowException e) {
            throw malformed("a HELLO of " + payload.limit() + " bytes, less than " + HELLO_SIZE);
        }
        if (payload.hasRemaining()) {
            throw malformed("a HELLO of " + payload.limit() + " bytes, more than " + HELLO_SIZE);
        }
        if (sector != DiskImage.SECTOR_SIZE) {
            throw malformed("a sector size of " + sector + " bytes; both ends use " + DiskImage.SECTOR_SIZE);
        }
        if (size <= 0 || size % DiskImage.SECTOR_SIZE != 0) {
            throw malformed("a disk size of " + size + " bytes, not a positive number of whole sectors");
        }
        if (target.readOnly()) {
            throw new MigrationException("the target disk " + target.path() + " is open read-only");
        }
        if (size > target.capacity()) {
            throw new MigrationException("the source's disk of " + size + " bytes does not fit the target disk "
                    + target.path() + " of " + target.capacity() + " bytes: give the target a disk at least as large");
        }
        return size;
    }

    private static MigrationException malformed(String what) {
        return new MigrationException("malformed disk copy stream from the source: " + what);
    }

    /** Tells the other end why (ERROR to the source, ABORT to the target), if the connection still takes it. */
    private static void report(FrameWriter out, Frame.Type type, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        try {
            out.write(type, ByteBuffer.wrap(text, 0, Math.min(text.length, Frame.MAX_TEXT_PAYLOAD)));
        } catch (IOException | InterruptedException | RuntimeException e) {
            LOG.log(Level.DEBUG, "could not send {0} to the other end of the disk copy: {1}", type, e.toString());
        }
    }
}
