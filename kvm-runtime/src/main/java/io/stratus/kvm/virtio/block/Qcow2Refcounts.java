package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The refcount table and its blocks, and cluster allocation, which is setting refcounts: every
 * new cluster (data, L2 table, refcount block, a grown refcount table) is appended at the end of
 * the image with refcount 1, so this also knows where the allocated part of the image ends.
 * Clusters are never freed but the old refcount table's, and never reused: space past the end is
 * free, whatever a leaked refcount there says.
 *
 * <p>Writes 16-bit refcounts only ({@link #ORDER}); an image with any other width is opened
 * read-only, and then nothing here is read or written but {@link #checkCluster}'s bound.
 * Not thread-safe: the image's lock guards it.
 */
final class Qcow2Refcounts {
    /** refcount_order of the refcounts this VMM writes: 16 bits. */
    static final int ORDER = 4;
    /** Refcount table entries hold a block's offset in these bits. */
    static final long TABLE_OFFSET_MASK = 0xffff_ffff_ffff_fe00L;
    /** L2 entries can name host offsets below 2^56 only. */
    private static final long MAX_HOST_OFFSET = 1L << 56;
    /** Refcounts are only set where clusters are allocated, at the end of the image: a few blocks do. */
    private static final long CACHE_BYTES = 64L << 10;

    private final LockedFile file;
    private final int clusterBits;
    private final int clusterSize;
    /** log2 of the refcounts in one block. */
    private final int blockBits;
    private long tableOffset;
    private long[] table;
    private final BitSet dirtyTableEntries = new BitSet();
    private final Qcow2TableCache blocks;
    /** The first cluster past everything allocated: where the next allocation goes. */
    private long nextFreeCluster;

    /**
     * @param table the refcount table as read (empty for a read-only image)
     * @param writeBack writes all of the image's metadata back, for when the block cache is full of dirty blocks
     */
    Qcow2Refcounts(LockedFile file, Qcow2Header header, long[] table, long fileSize,
                   Qcow2TableCache.WriteBack writeBack) {
        this.file = file;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.blockBits = clusterBits + 3 - ORDER;
        this.tableOffset = header.refcountTableOffset();
        this.table = table;
        this.blocks = new Qcow2TableCache(CACHE_BYTES, clusterSize, writeBack);
        this.nextFreeCluster = (fileSize + clusterSize - 1) >>> clusterBits;
    }

    /** Fails unless {@code offset} is a cluster boundary past the header and inside the image. */
    void checkCluster(long offset, String what) throws IOException {
        long end = nextFreeCluster << clusterBits;
        if (offset % clusterSize != 0 || offset < clusterSize || offset >= end) {
            throw new IOException("corrupt image: " + what + " at offset " + offset + " is "
                    + (offset % clusterSize != 0 ? "not cluster-aligned" : "outside the image"));
        }
    }

    /** Gives out {@code count} contiguous clusters at the end of the image, with refcount 1; returns the first. */
    long allocate(int count) throws IOException {
        long first = reserve(count);
        for (int i = 0; i < count; i++) {
            set(first + i, 1);
        }
        return first;
    }

    /**
     * Moves the end of the image past {@code count} more clusters and returns the first; their
     * refcounts are the caller's to set. Everything allocated, written yet or not, lies below the end.
     */
    private long reserve(long count) throws IOException {
        long first = nextFreeCluster;
        if (first + count > MAX_HOST_OFFSET >>> clusterBits) {
            throw new IOException("disk image " + file.path + " is full: its file would pass 64 PiB");
        }
        nextFreeCluster = first + count;
        return first;
    }

    private void set(long cluster, int value) throws IOException {
        Qcow2Table t = block(cluster >>> blockBits);
        int index = (int) (cluster & ((1L << blockBits) - 1));
        // Four 16-bit refcounts to a long, the first in the most significant bits (big-endian).
        int shift = 48 - 16 * (index & 3);
        long mask = 0xffffL << shift;
        t.entries[index >>> 2] = (t.entries[index >>> 2] & ~mask) | ((long) value << shift);
        t.dirty = true;
    }

    /** Refcount block {@code block}, allocated (and the refcount table grown) if it does not exist yet. */
    private Qcow2Table block(long block) throws IOException {
        if (block >= table.length) {
            growTable(block + 1);
        }
        long offset = table[(int) block] & TABLE_OFFSET_MASK;
        if (offset != 0) {
            Qcow2Table t = blocks.get(offset);
            if (t == null) {
                checkCluster(offset, "refcount block " + block);
                t = Qcow2Table.read(file, offset, clusterSize / 8);
                blocks.put(t);
            }
            return t;
        }
        // A new block at the end of the image. If the block covers its own cluster it counts itself;
        // otherwise its cluster is counted in the block that covers it (made the same way).
        long cluster = reserve(1);
        table[(int) block] = cluster << clusterBits;
        dirtyTableEntries.set((int) block);
        blocks.put(new Qcow2Table(cluster << clusterBits, new long[clusterSize / 8], true));
        set(cluster, 1);
        // Look it up again: counting its own cluster may have written back and dropped cached blocks.
        return block(block);
    }

    /**
     * Moves the refcount table to a larger one at the end of the image: the new table and its
     * blocks are made durable, then the header points at it, then the old table's clusters are
     * freed. Rare: one 64 KiB table cluster covers 16 TiB of image.
     */
    private void growTable(long minEntries) throws IOException {
        long perCluster = clusterSize / 8;
        long entries = Math.max(minEntries, table.length * 2L);
        long first = nextFreeCluster;
        long clusters;
        while (true) {
            clusters = (entries + perCluster - 1) / perCluster;
            // The table's own clusters, and the blocks that count them, must be covered by it too.
            long newBlocks = clusters / (1L << blockBits) + 2;
            long needed = ((first + clusters + newBlocks) >>> blockBits) + 1;
            if (needed <= entries) {
                break;
            }
            entries = needed;
        }
        if (clusters * clusterSize > Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
            throw new IOException("disk image " + file.path + " would need a refcount table over 8 MiB");
        }
        long oldOffset = tableOffset;
        long oldClusters = ((long) table.length * 8 + clusterSize - 1) >>> clusterBits;
        reserve(clusters);
        table = Arrays.copyOf(table, (int) (clusters * perCluster));
        tableOffset = first << clusterBits;
        for (long c = first; c < first + clusters; c++) {
            set(c, 1);
        }
        write();
        ByteBuffer whole = ByteBuffer.allocate((int) (clusters * clusterSize));
        whole.asLongBuffer().put(table);
        file.writeAt(whole, tableOffset);
        dirtyTableEntries.clear();
        file.host.sync();
        Qcow2Header.writeRefcountTableLocation(file, tableOffset, (int) clusters);
        file.host.sync();
        for (long c = oldOffset >>> clusterBits; c < (oldOffset >>> clusterBits) + oldClusters; c++) {
            set(c, 0);
        }
    }

    boolean dirty() {
        return !dirtyTableEntries.isEmpty() || blocks.anyDirty();
    }

    /** Writes the dirty refcount blocks, then the refcount table entries that name new ones. */
    void write() throws IOException {
        blocks.writeDirty(file);
        for (int i = dirtyTableEntries.nextSetBit(0); i >= 0; i = dirtyTableEntries.nextSetBit(i + 1)) {
            Qcow2Table.writeEntry(file, tableOffset, i, table[i]);
        }
        dirtyTableEntries.clear();
    }
}
