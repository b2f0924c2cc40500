package io.stratus.kvm.virtio.block;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which fixed-size blocks of a disk were written since the last {@link #take()}: a bitmap of
 * {@link #BLOCK_SIZE} blocks that any number of I/O threads mark while one reader takes it, for
 * live migration of a disk that is not shared (the source sends the blocks the guest changed
 * while the previous round was copied).
 *
 * <p>A mark is never lost between two takes: {@link #take()} swaps each word for zero atomically,
 * so a block marked while it runs is either in this answer or in the next. Callers mark a range
 * only after its write has completed, so that a block taken (and read) before the write landed is
 * marked again afterwards.
 */
public final class DirtyBlocks {
    /** Tracking granularity in bytes: the cluster size of the qcow2 images this VMM creates. */
    public static final int BLOCK_SIZE = 64 * 1024;
    private static final int BLOCK_BITS = 16;

    private final long capacity;
    private final long blocks;
    private final AtomicLongArray words;

    /** A bitmap for a disk of {@code capacityBytes}, nothing marked. */
    public DirtyBlocks(long capacityBytes) {
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("a disk of " + capacityBytes + " bytes");
        }
        this.capacity = capacityBytes;
        this.blocks = blockCount(capacityBytes);
        if (blocks > (long) Integer.MAX_VALUE) {
            // BitSet indexes by int: 2^31 blocks of 64 KiB is 128 TiB, past any disk this VMM serves.
            throw new IllegalArgumentException("a disk of " + capacityBytes + " bytes has too many blocks to track");
        }
        this.words = new AtomicLongArray((int) ((blocks + 63) / 64));
    }

    /** The number of {@link #BLOCK_SIZE} blocks that cover {@code capacityBytes} (the last may be partial). */
    public static long blockCount(long capacityBytes) {
        return (capacityBytes + BLOCK_SIZE - 1) >>> BLOCK_BITS;
    }

    /** Blocks on this disk. */
    public long blocks() {
        return blocks;
    }

    /**
     * Marks every block that {@code [offset, offset + length)} touches. Parts outside the disk are
     * ignored (the device refuses such requests before writing anything).
     */
    public void mark(long offset, long length) {
        if (length <= 0 || offset >= capacity || offset + length <= 0) {
            return;
        }
        long start = Math.max(offset, 0);
        long end = Math.min(capacity, offset + length);
        long first = start >>> BLOCK_BITS;
        long last = (end - 1) >>> BLOCK_BITS;
        for (long b = first; b <= last; ) {
            int word = (int) (b >>> 6);
            long upTo = Math.min(last, (b | 63));
            long bits = upTo - b == 63 ? -1L : ((1L << (upTo - b + 1)) - 1) << (b & 63);
            long old;
            do {
                old = words.get(word);
                if ((old | bits) == old) {
                    break;
                }
            } while (!words.compareAndSet(word, old, old | bits));
            b = upTo + 1;
        }
    }

    /** The blocks marked since the last call (block indexes), clearing them. */
    public BitSet take() {
        long[] copy = new long[words.length()];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = words.get(i) == 0 ? 0 : words.getAndSet(i, 0);
        }
        return BitSet.valueOf(copy);
    }
}
