package io.stratus.kvm.virtio.block;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A qcow2 image (versions 2 and 3), typically a copy-on-write overlay over a raw, read-only base:
 * clusters the guest never wrote are read from the backing file (zeros past its end), and a write
 * to such a cluster copies it into the overlay first. {@link #create} makes such an overlay in a
 * few hundred KiB; {@link DiskImage#open} opens any qcow2 image it is given.
 *
 * <p>Supported: clusters of 512 B to 2 MiB (64 KiB in images this class creates), the "all zeroes"
 * L2 flag, a raw backing file (named by the backing format extension, or probed when absent;
 * relative names resolve against the overlay's directory), 16-bit refcounts for writing, any
 * refcount width for reading. Refused at open, each with a {@link DiskImageException} naming the
 * feature: compressed clusters, encryption, external data files, extended L2 entries, a qcow2
 * backing file, unknown incompatible features, the corrupt bit, and writing an image with internal
 * snapshots. A header or table that is out of range is refused at open; a corrupt entry met later
 * fails that request with an {@link IOException}.
 *
 * <p>New clusters (data, L2 tables, refcount blocks, a grown refcount table) are appended at the
 * end of the file. Metadata changes are kept in memory and written back on {@link #flush()}, on
 * {@link #close()}, and when too many tables are dirty, in an order that keeps the image consistent
 * if the host crashes at any point (leaks are possible, corruption is not): data and refcounts are
 * made durable before any L2 entry names a new cluster, and L2 tables before the L1 entries that
 * name them. As with a disk's volatile write cache, writes the guest did not flush may be lost if
 * the VMM dies.
 *
 * <p>Thread safety: metadata (the L1 table, the L2 and refcount caches, allocation) is guarded by
 * one lock; reads and writes of clusters that are already allocated only take it to look the
 * clusters up, and move their data without it.
 */
public final class Qcow2Image implements DiskImage {
    static final int MAGIC = Qcow2Header.MAGIC;
    /** Cluster size of the images {@link #create} writes. */
    public static final int CLUSTER_SIZE = 64 * 1024;

    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    static final long REFCOUNT_TABLE_OFFSET_MASK = 0xffff_ffff_ffff_fe00L;
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long ZERO = 1L;
    /** L2 entries can name host offsets below 2^56 only. */
    private static final long MAX_HOST_OFFSET = 1L << 56;
    private static final long L2_CACHE_BYTES = 8L << 20;
    /** Refcounts are only set where clusters are allocated, at the end of the image: a few blocks do. */
    private static final long REFCOUNT_CACHE_BYTES = 64L << 10;
    /** refcount_order of the refcounts this VMM writes: 16 bits. */
    static final int REFCOUNT_ORDER = 4;

    private static final System.Logger LOG = System.getLogger(Qcow2Image.class.getName());

    private final LockedFile file;
    /** The raw base, or null. */
    private final Qcow2BackingFile backing;
    private final int version;
    private final int clusterBits;
    private final int clusterSize;
    private final int l2Bits;
    private final long capacity;
    private final int refcountBlockBits;

    private final ReentrantLock lock = new ReentrantLock();
    // Everything below is guarded by lock.
    private final long l1Offset;
    private final long[] l1;
    private final BitSet dirtyL1 = new BitSet();
    private final LinkedHashMap<Long, Table> l2Cache = new LinkedHashMap<>(16, 0.75f, true);
    private final int l2CacheLimit;
    private long refcountTableOffset;
    private long[] refcountTable;
    private final BitSet dirtyRefcountTable = new BitSet();
    private final LinkedHashMap<Long, Table> refcountCache = new LinkedHashMap<>(16, 0.75f, true);
    private final int refcountCacheLimit;
    /** The first cluster past everything allocated: where the next allocation goes. */
    private long nextFreeCluster;
    /** A cluster-sized buffer for copy-on-write merges. */
    private final Memory mergeBuffer;
    /** A cluster of zeros, written where zeroing cannot use the zero flag. */
    private final Memory zeros;
    private volatile boolean closed;

    /** One cached L2 table or refcount block: its place in the file and its entries. */
    private static final class Table {
        final long offset;
        final long[] entries;
        boolean dirty;

        Table(long offset, long[] entries, boolean dirty) {
            this.offset = offset;
            this.entries = entries;
            this.dirty = dirty;
        }
    }

    /** Where a guest cluster's bytes are. */
    private enum Kind { DATA, UNALLOCATED, ZERO }

    /** @param host the host cluster's offset for DATA, and for a ZERO cluster with preallocated space (else 0) */
    private record Mapping(Kind kind, long host) {
        static final Mapping UNALLOCATED = new Mapping(Kind.UNALLOCATED, 0);
    }

    /** A range of a request and where it goes: a data cluster run, the backing file, or zeros. */
    private record Extent(Kind kind, long requestOffset, long length, long source) {
    }

    private Qcow2Image(LockedFile file, Qcow2Header header, long[] l1, long[] refcountTable,
                       Qcow2BackingFile backing, long fileSize) {
        this.file = file;
        this.backing = backing;
        this.version = header.version();
        this.clusterBits = header.clusterBits();
        this.clusterSize = 1 << clusterBits;
        this.l2Bits = clusterBits - 3;
        this.capacity = header.size() - header.size() % SECTOR_SIZE;
        this.refcountBlockBits = clusterBits + 3 - REFCOUNT_ORDER;
        this.l1Offset = header.l1TableOffset();
        this.l1 = l1;
        this.refcountTableOffset = header.refcountTableOffset();
        this.refcountTable = refcountTable;
        this.l2CacheLimit = (int) Math.max(4, L2_CACHE_BYTES / clusterSize);
        this.refcountCacheLimit = (int) Math.max(4, REFCOUNT_CACHE_BYTES / clusterSize);
        this.nextFreeCluster = (fileSize + clusterSize - 1) >>> clusterBits;
        this.mergeBuffer = new Memory(clusterSize);
        this.zeros = new Memory(clusterSize);
        zeros.clear();
    }

    // ---------------------------------------------------------------------------------------
    // Creating and opening

    /**
     * Writes a new qcow2 version 3 overlay at {@code overlay} (which must not exist) over the raw
     * image {@code backingRaw}, with 64 KiB clusters and nothing allocated: the guest sees
     * {@code virtualSizeBytes} bytes, the base's content and zeros past the base's end. The backing
     * file name is stored as given (pass an absolute path unless the overlay and base move
     * together; a relative name resolves against the overlay's directory), with backing format
     * "raw". The file is a few hundred KiB and durable when this returns.
     *
     * @param virtualSizeBytes a multiple of 512, at most 64 TiB; it may exceed the base's size
     * @throws DiskImageException the overlay exists or cannot be written, the base is missing or
     *     is not raw, or the size is out of range
     */
    public static void create(Path overlay, Path backingRaw, long virtualSizeBytes) {
        Qcow2Overlay.create(overlay, backingRaw, virtualSizeBytes);
    }

    /** Takes over {@code file}, whose first bytes are the qcow2 magic (closing it if it cannot be attached). */
    static Qcow2Image open(LockedFile file) {
        String where = "disk image " + file.path;
        Qcow2BackingFile backing = null;
        try {
            long fileSize = file.size();
            Qcow2Header header = Qcow2Header.read(file, fileSize, where);
            if (!file.readOnly) {
                header.checkWritable(where);
            }
            long[] l1 = readTable(file, header.l1TableOffset(), header.l1Needed());
            refuseCompressedClusters(file, header, l1, fileSize, where);
            long[] refcountTable = file.readOnly ? new long[0] : readTable(file, header.refcountTableOffset(),
                    header.refcountTableClusters() * header.clusterSize() / 8);
            if (header.backingFile() != null) {
                backing = Qcow2BackingFile.open(file.path, header, where);
            }
            Qcow2Image image = new Qcow2Image(file, header, l1, refcountTable, backing, fileSize);
            if (!file.readOnly && header.autoclearFeatures() != 0) {
                Qcow2Header.clearAutoclearFeatures(file);
            }
            return image;
        } catch (IOException e) {
            closeBoth(file, backing);
            throw new DiskImageException("cannot use " + where + ": " + e.getMessage());
        } catch (RuntimeException e) {
            closeBoth(file, backing);
            throw e;
        }
    }

    private static void closeBoth(LockedFile file, Qcow2BackingFile backing) {
        file.close();
        if (backing != null) {
            backing.close();
        }
    }

    /** Reads {@code entries} big-endian 64-bit entries at {@code offset} (checked to lie in the file). */
    private static long[] readTable(LockedFile file, long offset, long entries) throws IOException {
        long[] table = new long[(int) entries];
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(entries * 8, 1 << 20));
        long done = 0;
        while (done < entries) {
            int n = (int) Math.min(entries - done, b.capacity() / 8);
            b.clear().limit(n * 8);
            if (file.readAt(b, offset + done * 8) != n * 8) {
                throw new IOException("table at offset " + offset + " ends past the end of the file");
            }
            b.flip().asLongBuffer().get(table, (int) done, n);
            done += n;
        }
        return table;
    }

    /**
     * Reads every L2 table the L1 table names, once each, and refuses the image if one is out of
     * place or holds a compressed cluster. Reads at most the file's size.
     */
    private static void refuseCompressedClusters(LockedFile file, Qcow2Header header, long[] l1, long fileSize,
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

    // ---------------------------------------------------------------------------------------
    // The disk

    @Override
    public Path path() {
        return file.path;
    }

    @Override
    public boolean readOnly() {
        return file.readOnly;
    }

    /** The virtual size, rounded down to whole sectors. */
    @Override
    public long capacity() {
        return capacity;
    }

    /** The backing file, resolved against the overlay's directory, if the image has one. */
    public Optional<Path> backingFile() {
        return Optional.ofNullable(backing).map(Qcow2BackingFile::path);
    }

    public int clusterSize() {
        return clusterSize;
    }

    @Override
    public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
        Scatter data = new Scatter(addresses, lengths, count);
        requireOpen();
        List<Extent> extents = map(position, checkRange(position, data.total()));
        for (Extent x : extents) {
            Scatter part = data.slice(x.requestOffset(), x.length());
            switch (x.kind()) {
                case DATA -> file.host.readVectored(part.addresses(), part.lengths(), part.count(), x.source());
                case UNALLOCATED -> backing.read(part.addresses(), part.lengths(), part.count(), x.source());
                case ZERO -> part.zero();
            }
        }
    }

    /** Looks up {@code [position, end)} cluster by cluster, joining neighbours that read alike. */
    private List<Extent> map(long position, long end) throws IOException {
        List<Extent> extents = new ArrayList<>();
        lock.lock();
        try {
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
                int last = extents.size() - 1;
                Extent prev = last >= 0 ? extents.get(last) : null;
                if (prev != null && prev.kind() == kind
                        && (kind != Kind.DATA || prev.source() + prev.length() == source)) {
                    extents.set(last, new Extent(kind, prev.requestOffset(), prev.length() + n, prev.source()));
                } else {
                    extents.add(new Extent(kind, pos - position, n, source));
                }
                pos += n;
            }
        } finally {
            lock.unlock();
        }
        return extents;
    }

    @Override
    public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
        Scatter data = new Scatter(addresses, lengths, count);
        requireWritable();
        long end = checkRange(position, data.total());
        List<Extent> inPlace = new ArrayList<>();
        lock.lock();
        try {
            long pos = position;
            while (pos < end) {
                long cluster = pos >>> clusterBits;
                long within = pos & (clusterSize - 1);
                long n = Math.min(end - pos, clusterSize - within);
                Mapping m = lookup(cluster);
                if (m.kind() == Kind.DATA) {
                    int last = inPlace.size() - 1;
                    Extent prev = last >= 0 ? inPlace.get(last) : null;
                    if (prev != null && prev.requestOffset() + prev.length() == pos - position
                            && prev.source() + prev.length() == m.host() + within) {
                        inPlace.set(last, new Extent(Kind.DATA, prev.requestOffset(), prev.length() + n, prev.source()));
                    } else {
                        inPlace.add(new Extent(Kind.DATA, pos - position, n, m.host() + within));
                    }
                    pos += n;
                } else if (n == clusterSize && m.host() == 0) {
                    // Whole clusters that need new space: as many in a row as the request covers, in one write.
                    int run = 1;
                    while (pos + (run + 1L) * clusterSize <= end && run < 1024) {
                        Mapping next = lookup(cluster + run);
                        if (next.kind() == Kind.DATA || next.host() != 0) {
                            break;
                        }
                        run++;
                    }
                    writeNewClusters(cluster, run, data.slice(pos - position, (long) run * clusterSize));
                    pos += (long) run * clusterSize;
                } else {
                    writeCluster(cluster, m, within, data.slice(pos - position, n));
                    pos += n;
                }
            }
        } finally {
            lock.unlock();
        }
        for (Extent x : inPlace) {
            Scatter part = data.slice(x.requestOffset(), x.length());
            file.host.writeVectored(part.addresses(), part.lengths(), part.count(), x.source());
        }
    }

    /** Gives {@code run} unallocated (or unpreallocated zero) clusters new space and fills it from {@code data}. */
    private void writeNewClusters(long cluster, int run, Scatter data) throws IOException {
        // The L2 tables first, so that the data clusters are contiguous.
        for (int i = 0; i < run; i++) {
            l2Table(cluster + i, true);
        }
        long first = allocate(run);
        file.host.writeVectored(data.addresses(), data.lengths(), data.count(), first << clusterBits);
        for (int i = 0; i < run; i++) {
            setL2Entry(cluster + i, ((first + i) << clusterBits) | COPIED);
        }
    }

    /**
     * Writes {@code data} at {@code within} of a cluster that is not plain allocated data: an
     * unallocated cluster (copied from the backing file, or zeros), or a zero cluster (zeros,
     * in its preallocated space if it has some).
     */
    private void writeCluster(long cluster, Mapping m, long within, Scatter data) throws IOException {
        // Safe because: mergeBuffer is this image's own cluster-sized native buffer, used under the lock
        // only, and freed on close after the last use.
        Scatter merged = Scatter.of(Pointer.nativeValue(mergeBuffer), clusterSize);
        if (data.total() < clusterSize) {
            if (m.kind() == Kind.UNALLOCATED && backed(cluster)) {
                backing.read(merged.addresses(), merged.lengths(), 1, cluster << clusterBits);
            } else {
                mergeBuffer.clear(clusterSize);
            }
        }
        data.copyTo(mergeBuffer.getByteBuffer(0, clusterSize).position((int) within));
        long host = m.host();
        if (host == 0) {
            l2Table(cluster, true);
            host = allocate(1) << clusterBits;
        }
        file.host.writeVectored(merged.addresses(), merged.lengths(), 1, host);
        setL2Entry(cluster, host | COPIED);
    }

    /**
     * Zeroes the range: whole clusters by the zero flag (version 3; allocated space is kept and
     * its host range punched out), partial clusters and version 2 images by writing zeros.
     * Clusters that already read as zeros are left alone.
     */
    @Override
    public void zero(long position, long length) throws IOException {
        requireWritable();
        long end = checkRange(position, length);
        lock.lock();
        try {
            long pos = position;
            while (pos < end) {
                long cluster = pos >>> clusterBits;
                long within = pos & (clusterSize - 1);
                long n = Math.min(end - pos, clusterSize - within);
                pos += n;
                Mapping m = lookup(cluster);
                if (m.kind() == Kind.ZERO || (m.kind() == Kind.UNALLOCATED && !backed(cluster))) {
                    continue;
                }
                if (n == clusterSize && version >= 3) {
                    if (m.kind() == Kind.DATA) {
                        setL2Entry(cluster, m.host() | COPIED | ZERO);
                        file.host.punchHole(m.host(), clusterSize);
                    } else {
                        setL2Entry(cluster, ZERO);
                    }
                } else {
                    // Safe because: zeros is this image's own cluster of zeros, never written after
                    // construction, and n is at most a cluster.
                    Scatter zeroData = Scatter.of(Pointer.nativeValue(zeros), n);
                    if (m.kind() == Kind.DATA) {
                        file.host.writeVectored(zeroData.addresses(), zeroData.lengths(), 1, m.host() + within);
                    } else {
                        writeCluster(cluster, m, within, zeroData);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The blocks with a cluster of this overlay's own: allocated data, or the zero flag (which
     * hides the backing file's data there). Unallocated clusters read from the backing file, or as
     * zeros past its end, on any overlay over an identical base.
     */
    @Override
    public BitSet ownBlocks(int blockSize) throws IOException {
        if (blockSize < SECTOR_SIZE || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("a block of " + blockSize + " bytes; a power of two of 512 or more");
        }
        requireOpen();
        BitSet blocks = new BitSet();
        lock.lock();
        try {
            long clusters = (capacity + clusterSize - 1) >>> clusterBits;
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
                    boolean own = (entry & OFFSET_MASK) != 0 || (version >= 3 && (entry & ZERO) != 0);
                    if (own) {
                        long start = cluster << clusterBits;
                        long end = Math.min(capacity, start + clusterSize);
                        blocks.set(Math.toIntExact(start / blockSize), Math.toIntExact((end - 1) / blockSize + 1));
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        return blocks;
    }

    /** Writes metadata back in crash-safe order, then fdatasyncs the image. */
    @Override
    public void flush() throws IOException {
        requireOpen();
        if (!file.readOnly) {
            lock.lock();
            try {
                writeBack();
            } finally {
                lock.unlock();
            }
        }
        file.host.sync();
    }

    /** Writes metadata back and closes the image and its backing file; the locks go with them. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            if (!file.readOnly) {
                try {
                    writeBack();
                    file.host.sync();
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "{0}: metadata not written back on close: {1}", file.path, e.getMessage());
                }
            }
            closed = true;
            closeBoth(file, backing);
            mergeBuffer.close();
            zeros.close();
        } finally {
            lock.unlock();
        }
    }

    private void requireOpen() throws IOException {
        if (closed) {
            throw new IOException("disk image " + file.path + " is closed");
        }
    }

    private void requireWritable() throws IOException {
        requireOpen();
        if (file.readOnly) {
            throw new IOException("disk image " + file.path + " is attached read-only");
        }
    }

    /** Returns the end of {@code [position, position + length)}, failing if it is not on the disk. */
    private long checkRange(long position, long length) throws IOException {
        if (position < 0 || length < 0 || position > capacity - length) {
            throw new IOException("range [" + position + ", +" + length + ") is outside the disk of "
                    + capacity + " bytes");
        }
        return position + length;
    }

    /** Whether the backing file holds (some of) guest cluster {@code cluster}. */
    private boolean backed(long cluster) {
        return backing != null && backing.covers(cluster << clusterBits);
    }

    // ---------------------------------------------------------------------------------------
    // Metadata; every method below runs with the lock held.

    /** The mapping of guest cluster {@code cluster}, its L2 entry checked. */
    private Mapping lookup(long cluster) throws IOException {
        Table t = l2Table(cluster, false);
        if (t == null) {
            return Mapping.UNALLOCATED;
        }
        long entry = t.entries[(int) (cluster & ((1L << l2Bits) - 1))];
        if ((entry & COMPRESSED) != 0) {
            throw new IOException("guest cluster " + cluster + " is compressed, which is not supported");
        }
        long host = entry & OFFSET_MASK;
        if (host != 0) {
            checkCluster(host, "data cluster of guest cluster " + cluster);
        }
        if (version >= 3 && (entry & ZERO) != 0) {
            return new Mapping(Kind.ZERO, host);
        }
        return host == 0 ? Mapping.UNALLOCATED : new Mapping(Kind.DATA, host);
    }

    /** Fails unless {@code offset} is a cluster boundary past the header and inside the image. */
    private void checkCluster(long offset, String what) throws IOException {
        if (offset % clusterSize != 0 || offset < clusterSize || offset >= fileLimit()) {
            throw new IOException("corrupt image: " + what + " at offset " + offset + " is "
                    + (offset % clusterSize != 0 ? "not cluster-aligned" : "outside the image"));
        }
    }

    /** Everything allocated lies below this offset (clusters allocated now may not be written yet). */
    private long fileLimit() {
        return nextFreeCluster << clusterBits;
    }

    /** The L2 table of guest cluster {@code cluster}; null when it has none and {@code create} is false. */
    private Table l2Table(long cluster, boolean create) throws IOException {
        int index = (int) (cluster >>> l2Bits);
        long offset = l1[index] & OFFSET_MASK;
        if (offset != 0) {
            Table t = l2Cache.get(offset);
            if (t == null) {
                checkCluster(offset, "L2 table " + index);
                t = new Table(offset, readEntries(offset, 1 << l2Bits), false);
                cache(l2Cache, t, l2CacheLimit);
            }
            return t;
        }
        if (!create) {
            return null;
        }
        long table = allocate(1) << clusterBits;
        l1[index] = table | COPIED;
        dirtyL1.set(index);
        Table t = new Table(table, new long[1 << l2Bits], true);
        cache(l2Cache, t, l2CacheLimit);
        return t;
    }

    private void setL2Entry(long cluster, long entry) throws IOException {
        Table t = l2Table(cluster, true);
        t.entries[(int) (cluster & ((1L << l2Bits) - 1))] = entry;
        t.dirty = true;
    }

    private long[] readEntries(long offset, int count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(count * 8);
        if (file.readAt(b, offset) != b.capacity()) {
            throw new IOException("corrupt image: table at offset " + offset + " ends past the end of the file");
        }
        long[] entries = new long[count];
        b.flip().asLongBuffer().get(entries);
        return entries;
    }

    /**
     * Caches {@code t}; past the limit, drops the least recently used clean table (writing every
     * dirty table back first if none is clean). Never drops {@code t}.
     */
    private void cache(LinkedHashMap<Long, Table> cache, Table t, int limit) throws IOException {
        cache.put(t.offset, t);
        if (cache.size() <= limit) {
            return;
        }
        if (!dropClean(cache, t)) {
            writeBack();
            dropClean(cache, t);
        }
    }

    /**
     * Drops the least recently used clean table but {@code keep}: the caller is about to use
     * {@code keep}, and a change to a table that is no longer cached would never be written.
     */
    private static boolean dropClean(LinkedHashMap<Long, Table> cache, Table keep) {
        Iterator<Map.Entry<Long, Table>> it = cache.entrySet().iterator();
        while (it.hasNext()) {
            Table t = it.next().getValue();
            if (!t.dirty && t != keep) {
                it.remove();
                return true;
            }
        }
        return false;
    }

    /**
     * Gives out {@code count} contiguous clusters at the end of the image, with refcount 1. Space
     * past the end of the file is free (a refcount found there is a leak, and is overwritten).
     */
    private long allocate(int count) throws IOException {
        long first = nextFreeCluster;
        if (first + count > MAX_HOST_OFFSET >>> clusterBits) {
            throw new IOException("disk image " + file.path + " is full: its file would pass 64 PiB");
        }
        nextFreeCluster = first + count;
        for (int i = 0; i < count; i++) {
            setRefcount(first + i, 1);
        }
        return first;
    }

    private void setRefcount(long cluster, int value) throws IOException {
        long block = cluster >>> refcountBlockBits;
        Table t = refcountBlock(block);
        int index = (int) (cluster & ((1L << refcountBlockBits) - 1));
        // Four 16-bit refcounts to a long, the first in the most significant bits (big-endian).
        int shift = 48 - 16 * (index & 3);
        long mask = 0xffffL << shift;
        t.entries[index >>> 2] = (t.entries[index >>> 2] & ~mask) | ((long) value << shift);
        t.dirty = true;
    }

    /** Refcount block {@code block}, allocated (and the refcount table grown) if it does not exist yet. */
    private Table refcountBlock(long block) throws IOException {
        if (block >= refcountTable.length) {
            growRefcountTable(block + 1);
        }
        long offset = refcountTable[(int) block] & REFCOUNT_TABLE_OFFSET_MASK;
        if (offset != 0) {
            Table t = refcountCache.get(offset);
            if (t == null) {
                checkCluster(offset, "refcount block " + block);
                t = new Table(offset, readEntries(offset, clusterSize / 8), false);
                cache(refcountCache, t, refcountCacheLimit);
            }
            return t;
        }
        // A new block at the end of the image. If the block covers its own cluster it counts itself;
        // otherwise its cluster is counted in the block that covers it (made the same way).
        long cluster = nextFreeCluster++;
        if (nextFreeCluster > MAX_HOST_OFFSET >>> clusterBits) {
            throw new IOException("disk image " + file.path + " is full: its file would pass 64 PiB");
        }
        refcountTable[(int) block] = cluster << clusterBits;
        dirtyRefcountTable.set((int) block);
        cache(refcountCache, new Table(cluster << clusterBits, new long[clusterSize / 8], true), refcountCacheLimit);
        setRefcount(cluster, 1);
        // Look it up again: counting its own cluster may have written back and dropped cached blocks.
        return refcountBlock(block);
    }

    /**
     * Moves the refcount table to a larger one at the end of the image: the new table and its
     * blocks are made durable, then the header points at it, then the old table's clusters are
     * freed. Rare: one 64 KiB table cluster covers 16 TiB of image.
     */
    private void growRefcountTable(long minEntries) throws IOException {
        long perCluster = clusterSize / 8;
        long entries = Math.max(minEntries, refcountTable.length * 2L);
        long first = nextFreeCluster;
        long clusters;
        while (true) {
            clusters = (entries + perCluster - 1) / perCluster;
            // The table's own clusters, and the blocks that count them, must be covered by it too.
            long blocks = clusters / (1L << refcountBlockBits) + 2;
            long needed = ((first + clusters + blocks) >>> refcountBlockBits) + 1;
            if (needed <= entries) {
                break;
            }
            entries = needed;
        }
        if (clusters * clusterSize > Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
            throw new IOException("disk image " + file.path + " would need a refcount table over 8 MiB");
        }
        if (first + clusters > MAX_HOST_OFFSET >>> clusterBits) {
            throw new IOException("disk image " + file.path + " is full: its file would pass 64 PiB");
        }
        long oldOffset = refcountTableOffset;
        long oldClusters = ((long) refcountTable.length * 8 + clusterSize - 1) >>> clusterBits;
        nextFreeCluster = first + clusters;
        refcountTable = Arrays.copyOf(refcountTable, (int) (clusters * perCluster));
        refcountTableOffset = first << clusterBits;
        for (long c = first; c < first + clusters; c++) {
            setRefcount(c, 1);
        }
        writeRefcounts();
        ByteBuffer table = ByteBuffer.allocate((int) (clusters * clusterSize));
        table.asLongBuffer().put(refcountTable);
        file.writeAt(table, refcountTableOffset);
        dirtyRefcountTable.clear();
        file.host.sync();
        Qcow2Header.writeRefcountTableLocation(file, refcountTableOffset, (int) clusters);
        file.host.sync();
        for (long c = oldOffset >>> clusterBits; c < (oldOffset >>> clusterBits) + oldClusters; c++) {
            setRefcount(c, 0);
        }
    }

    /** Writes the dirty refcount blocks, then the refcount table entries that name new ones. */
    private void writeRefcounts() throws IOException {
        for (Table t : refcountCache.values()) {
            if (t.dirty) {
                writeEntries(t);
            }
        }
        for (int i = dirtyRefcountTable.nextSetBit(0); i >= 0; i = dirtyRefcountTable.nextSetBit(i + 1)) {
            file.writeAt(ByteBuffer.allocate(8).putLong(0, refcountTable[i]), refcountTableOffset + 8L * i);
        }
        dirtyRefcountTable.clear();
    }

    private void writeEntries(Table t) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(t.entries.length * 8);
        b.asLongBuffer().put(t.entries);
        file.writeAt(b, t.offset);
        t.dirty = false;
    }

    /**
     * Writes dirty metadata back so that the image is consistent after a crash at any point:
     * refcounts, then a sync (new data clusters and refcounts durable before anything names
     * them), then L2 tables, then a sync and the L1 entries of new L2 tables.
     */
    private void writeBack() throws IOException {
        boolean l2Dirty = l2Cache.values().stream().anyMatch(t -> t.dirty);
        boolean refcountsDirty = !dirtyRefcountTable.isEmpty() || refcountCache.values().stream().anyMatch(t -> t.dirty);
        if (!l2Dirty && !refcountsDirty && dirtyL1.isEmpty()) {
            return;
        }
        writeRefcounts();
        file.host.sync();
        for (Table t : l2Cache.values()) {
            if (t.dirty) {
                writeEntries(t);
            }
        }
        if (!dirtyL1.isEmpty()) {
            if (l2Dirty) {
                file.host.sync();
            }
            for (int i = dirtyL1.nextSetBit(0); i >= 0; i = dirtyL1.nextSetBit(i + 1)) {
                file.writeAt(ByteBuffer.allocate(8).putLong(0, l1[i]), l1Offset + 8L * i);
            }
            dirtyL1.clear();
        }
    }
}
