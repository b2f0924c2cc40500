package io.stratus.kvm.migration;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.virtio.block.DirtyBlocks;
import io.stratus.kvm.virtio.block.DiskImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Sends blocks of the source's disks as DISK frames: a block that reads as zeros as part of a zero
 * run (a flag, never data), any other block as data. Each block is read from the image (through
 * the format, so a qcow2 overlay yields what the guest sees) while the guest may be writing it: a
 * block written meanwhile is marked dirty after that write completes and goes out again in a later
 * round, at the latest in the switch-over's, which runs with the devices quiesced.
 */
final class DiskSender implements AutoCloseable {
    private static final int BLOCK = DirtyBlocks.BLOCK_SIZE;
    private static final byte[] ZEROS = new byte[BLOCK];

    private final FrameWriter out;
    // The buffers come with the first send(): a live migration over shared storage sends no disk,
    // and allocating 1 MiB of frame for nothing costs time at the start of every migration.
    private ByteBuffer frame;
    /** Where the image reads a block into: DiskImage reads into host memory only. */
    private Memory buffer;
    private byte[] block;
    private int runDisk = -1;
    private long runStart;
    private long runLength;
    private long dataBytes;
    private long zeroBytes;

    DiskSender(FrameWriter out) {
        this.out = out;
    }

    long dataBytes() {
        return dataBytes;
    }

    long zeroBytes() {
        return zeroBytes;
    }

    /**
     * Sends the blocks {@code blocks} (indexes of {@link DirtyBlocks#BLOCK_SIZE} blocks) of disk
     * {@code index}, then flushes the last frame.
     */
    void send(int index, DiskImage disk, BitSet blocks) throws IOException, InterruptedException {
        if (frame == null) {
            frame = ByteBuffer.allocate(Frame.MAX_DISK_PAYLOAD);
            buffer = new Memory(BLOCK);
            block = new byte[BLOCK];
        }
        long capacity = disk.capacity();
        // Safe because: buffer is this sender's own native block, alive until close(), used by this thread only.
        long address = Pointer.nativeValue(buffer);
        for (int b = blocks.nextSetBit(0); b >= 0; b = blocks.nextSetBit(b + 1)) {
            long offset = (long) b * BLOCK;
            if (offset >= capacity) {
                break;
            }
            int length = (int) Math.min(BLOCK, capacity - offset);
            try {
                disk.read(new long[] {address}, new long[] {length}, 1, offset);
            } catch (IOException e) {
                // Not the connection's fault: say which disk failed.
                throw new MigrationException("reading disk " + index + " (" + disk.path() + ") failed: "
                        + e.getMessage(), e);
            }
            buffer.read(0, block, 0, length);
            if (Arrays.equals(block, 0, length, ZEROS, 0, length)) {
                zeroBytes += length;
                if (runDisk == index && runStart + runLength == offset) {
                    runLength += length;
                } else {
                    endRun();
                    runDisk = index;
                    runStart = offset;
                    runLength = length;
                }
                continue;
            }
            endRun();
            room(Frame.DISK_DATA_HEADER + length);
            frame.put((byte) Frame.DISK_DATA).put((byte) index).putLong(offset).putInt(length).put(block, 0, length);
            dataBytes += length;
        }
        endRun();
        flush();
    }

    private void endRun() throws IOException, InterruptedException {
        if (runDisk >= 0) {
            room(Frame.DISK_ZERO_ENTRY);
            frame.put((byte) Frame.DISK_ZERO).put((byte) runDisk).putLong(runStart).putLong(runLength);
            runDisk = -1;
        }
    }

    private void room(int bytes) throws IOException, InterruptedException {
        if (frame.remaining() < bytes) {
            flush();
        }
    }

    private void flush() throws IOException, InterruptedException {
        if (frame.position() > 0) {
            out.write(Frame.Type.DISK, frame.flip());
            frame.clear();
        }
    }

    /** Frees the read buffer. */
    @Override
    public void close() {
        if (buffer != null) {
            buffer.close();
        }
    }
}
