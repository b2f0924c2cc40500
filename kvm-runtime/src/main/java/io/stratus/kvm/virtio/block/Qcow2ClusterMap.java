package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Where each guest cluster is: the L1 table (kept whole in memory) and the L2 tables it names
 * (cached), each L2 entry a host cluster's offset and flags. An L2 entry is checked when it is
 * looked up, so that a corrupt one fails the request that meets it rather than the image.
 * New L2 tables are allocated from {@link Qcow2Refcounts}. Not thread-safe: the image's lock
 * guards it.
 */
final class Qcow2ClusterMap {
    /** L1 and L2 entries hold a host cluster's offset in these bits. */
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    /** The cluster's refcount is exactly 1, so it is written in place; set on every cluster this VMM maps. */
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    /** The cluster reads as zeros (version 3), whatever its host offset, if any, holds. */
    static final long ZERO = 1L;
    private static final long CACHE_BYTES = 8L << 20;

    /** Where a guest cluster's bytes are. */
    enum Kind { DATA, UNALLOCATED, ZERO }

    /** @param host the host cluster's offset for DATA, and for a ZERO cluster with preallocated space (else 0) */
    record Mapping(Kind kind, long host) {
        static final Mapping UNALLOCATED = new Mapping(Kind.UNALLOCATED, 0);
    }

    /**
     * A range of a request and where it goes: a data cluster run ({@code source} is its host
     * offset), the backing file ({@code source} is the guest offset), or zeros.
     */
    record Extent(Kind kind, long requestOffset, long length, long source) {
        /** Adds {@code x} to {@code extents}, joined with the last one if {@code x} continues it. */
        static void append(List<Extent> extents, Extent x) {
            int last = extents.size() - 1;
            Extent prev = last >= 0 ? extents.get(last) : null;
            if (prev != null && prev.kind == x.kind && prev.requestOffset + prev.length == x.requestOffset
                    && (x.kind != Kind.DATA || prev.source + prev.length == x.source)) {
                extents.set(last, new Extent(x.kind, prev.requestOffset, prev.length + x.length, prev.source));
            } else {
                extents.add(x);
            }
        }
    }

    private final LockedFile file;
    private final Qcow2Refcounts refcounts;
    private final int version;
    private final int clusterBits;
    private final int clusterSize;
    private final int l2Bits;
    private final long l1Offset;
    private final long[] l1;
    private final BitSet dirtyL1 = new BitSet();
    private final Qcow2TableCache l2Tables;
    /** The backing file's size, 0 when there is none. */
    private final long backingSize;

    /**
     * @param l1 the L1 table as read, its L2 tables checked by {@link #refuseCompressedClusters}
     * @param backingSize the backing file's size, 0 when there is none
     * @param writeBack writes all of the image's metadata back, for when the L2 cache is full of dirty tables
     */
    Qcow2ClusterMap(LockedFile file, Qcow2Header header, long[] l1, long backingSize, Qcow2Refcounts refcounts,
                    Qcow2TableCache.WriteBack writeBack) {
        this.file = file;
        this.refcounts = refcounts;
        this.version = header.version();
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.l2Bits = clusterBits - 3;
        this.l1Offset = header.l1TableOffset();
        this.l1 = l1;
        this.l2Tables = new Qcow2TableCache(CACHE_BYTES, clusterSize, writeBack);
        this.backingSize = backingSize;
    }

    /**
     * Reads every L2 table the L1 table names, once each, and refuses the image if one is out of
     * place or holds a compressed cluster. Reads at most the file's size.
     */
    static void refuseCompressedClusters(LockedFile file, Qcow2Header header, long[] l1, long fileSize,
                                         String where) throws IOException {
        int clusterSize = header.clusterSize();
        long[] tables = Arrays.stream(l1).map(e -> e & OFFSET_MASK).filter(o -> o != 0).sorted().distinct().toArray();
        ByteBuffer b = ByteBuffer.allocate(clusterSize);
        long[] entries = new long[clusterSize / 8];
        for (long offset : tables) {
            if (offset % clusterSize != 0 || offset > fileSize - clusterSize) {
                throw new DiskImageException(where + " has an L2 table at offset " + offset
                        + (offset % clusterSize != 0 ? ", which is not cluster-aligned"
                        : ", beyond the end of the file"));
            }
            b.clear();
            if (file.readAt(b, offset) != clusterSize) {
                throw new IOException("L2 table at offset " + offset + " ends past the end of the file");
            }
            b.flip().asLongBuffer().get(entries);
            for (long e : entries) {
                if ((e & COMPRESSED) != 0) {
                    throw new DiskImageException(where + " has compressed clusters, which are not supported"
                            + " (qemu-img convert -O qcow2 without -c writes an image without them)");
                }
            }
        }
    }

    /** The mapping of guest cluster {@code cluster}, its L2 entry checked. */
    Mapping lookup(long cluster) throws IOException {
        Qcow2Table t = l2Table(cluster, false);
        if (t == null) {
            return Mapping.UNALLOCATED;
        }
        long entry = t.entries[index(cluster)];
        if ((entry & COMPRESSED) != 0) {
            throw new IOException("guest cluster " + cluster + " is compressed, which is not supported");
        }
        long host = entry & OFFSET_MASK;
        if (host != 0) {
            refcounts.checkCluster(host, "data cluster of guest cluster " + cluster);
        }
        if (version >= 3 && (entry & ZERO) != 0) {
            return new Mapping(Kind.ZERO, host);
        }
        return host == 0 ? Mapping.UNALLOCATED : new Mapping(Kind.DATA, host);
    }

    /**
     * Where the bytes of {@code [position, end)} are, looked up cluster by cluster and joined where
     * neighbours read alike; unallocated clusters the backing file does not cover read as zeros.
     */
    List<Extent> extents(long position, long end) throws IOException {
        List<Extent> extents = new ArrayList<>();
        long pos = position;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long within = pos & (clusterSize - 1);
            long n = Math.min(end - pos, clusterSize - within);
            Mapping m = lookup(cluster);
            Kind kind = m.kind() == Kind.UNALLOCATED && !backed(cluster) ? Kind.ZERO : m.kind();
            long source = switch (kind) {
                case DATA -> m.host() + within;
                case UNALLOCATED -> pos;
                case ZERO -> 0;
            };
            Extent.append(extents, new Extent(kind, pos - position, n, source));
            pos += n;
        }
        return extents;
    }

    /** Whether the backing file holds (some of) guest cluster {@code cluster}. */
    boolean backed(long cluster) {
        return (cluster << clusterBits) < backingSize;
    }

    /**
     * Makes sure guest cluster {@code cluster} has an L2 table, allocating one if not: before a
     * data cluster is allocated, so that data clusters allocated together stay contiguous.
     */
    void ensureL2Table(long cluster) throws IOException {
        l2Table(cluster, true);
    }

    /** Points guest cluster {@code cluster} at {@code entry} (a host offset and flags). */
    void setEntry(long cluster, long entry) throws IOException {
        Qcow2Table t = l2Table(cluster, true);
        t.entries[index(cluster)] = entry;
        t.dirty = true;
    }

    /**
     * Calls {@code action} with each of the first {@code clusters} guest clusters that has a cluster
     * of this image's own: allocated data, or the zero flag (which hides the backing file there).
     */
    void forEachOwnCluster(long clusters, LongConsumer action) throws IOException {
        for (int i = 0; i < l1.length && ((long) i << l2Bits) < clusters; i++) {
            if ((l1[i] & OFFSET_MASK) == 0) {
                continue;
            }
            long[] entries = l2Table((long) i << l2Bits, false).entries;
            for (int j = 0; j < entries.length; j++) {
                long cluster = ((long) i << l2Bits) + j;
                if (cluster >= clusters) {
                    break;
                }
                long entry = entries[j];
                if ((entry & OFFSET_MASK) != 0 || (version >= 3 && (entry & ZERO) != 0)) {
                    action.accept(cluster);
                }
            }
        }
    }

    boolean l2TablesDirty() {
        return l2Tables.anyDirty();
    }

    boolean l1Dirty() {
        return !dirtyL1.isEmpty();
    }

    /** Writes the dirty L2 tables back; the image orders this after the refcounts that count their clusters. */
    void writeL2Tables() throws IOException {
        l2Tables.writeDirty(file);
    }

    /** Writes the changed L1 entries back; the image orders this after the new L2 tables they name. */
    void writeL1() throws IOException {
        for (int i = dirtyL1.nextSetBit(0); i >= 0; i = dirtyL1.nextSetBit(i + 1)) {
            Qcow2Table.writeEntry(file, l1Offset, i, l1[i]);
        }
        dirtyL1.clear();
    }

    private int index(long cluster) {
        return (int) (cluster & ((1L << l2Bits) - 1));
    }

    /** The L2 table of guest cluster {@code cluster}; null when it has none and {@code create} is false. */
    private Qcow2Table l2Table(long cluster, boolean create) throws IOException {
        int index = (int) (cluster >>> l2Bits);
        long offset = l1[index] & OFFSET_MASK;
        if (offset != 0) {
            Qcow2Table t = l2Tables.get(offset);
            if (t == null) {
                refcounts.checkCluster(offset, "L2 table " + index);
                t = Qcow2Table.read(file, offset, 1 << l2Bits);
                l2Tables.put(t);
            }
            return t;
        }
        if (!create) {
            return null;
        }
        long table = refcounts.allocate(1) << clusterBits;
        l1[index] = table | COPIED;
        dirtyL1.set(index);
        Qcow2Table t = new Qcow2Table(table, new long[1 << l2Bits], true);
        l2Tables.put(t);
        return t;
    }
}
