package io.stratus.kvm.virtio.block;

import io.stratus.kvm.virtio.block.Qcow2ClusterMap.Extent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
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
 *
 * <p>This class is the disk: range checks, the lock, moving data, and the order of metadata
 * write-back. The format's parts are their own classes: {@link Qcow2Header}; {@link
 * Qcow2ClusterMap} (the L1 and L2 tables: where a guest cluster is); {@link Qcow2Refcounts} (the
 * refcount table and blocks, and allocation); {@link Qcow2TableCache} (the L2 and refcount block
 * caches); {@link Qcow2CopyOnWrite} (writes that need new clusters); {@link Qcow2BackingFile};
 * and {@link Qcow2Overlay}, which creates images.
 */
public final class Qcow2Image implements DiskImage {
    /** Cluster size of the images {@link #create} writes. */
    public static final int CLUSTER_SIZE = 64 * 1024;

    // The format's numbers by the names DiskImage and the tests that build and corrupt images use;
    // each is defined by the part of the format it belongs to.
    static final int MAGIC = Qcow2Header.MAGIC;
    static final long OFFSET_MASK = Qcow2ClusterMap.OFFSET_MASK;
    static final long REFCOUNT_TABLE_OFFSET_MASK = Qcow2Refcounts.TABLE_OFFSET_MASK;
    static final long COPIED = Qcow2ClusterMap.COPIED;
    static final long COMPRESSED = Qcow2ClusterMap.COMPRESSED;

    private static final System.Logger LOG = System.getLogger(Qcow2Image.class.getName());

    private final LockedFile file;
    /** The raw base, or null. */
    private final Qcow2BackingFile backing;
    private final int clusterBits;
    private final int clusterSize;
    private final long capacity;

    private final ReentrantLock lock = new ReentrantLock();
    // Everything below is guarded by lock.
    private final Qcow2Refcounts refcounts;
    private final Qcow2ClusterMap clusters;
    private final Qcow2CopyOnWrite copyOnWrite;
    private volatile boolean closed;

    private Qcow2Image(LockedFile file, Qcow2Header header, long[] l1, long[] refcountTable,
                       Qcow2BackingFile backing, long fileSize) {
        this.file = file;
        this.backing = backing;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.capacity = header.size() - header.size() % SECTOR_SIZE;
        // Either cache, when full of dirty tables, writes all the metadata back (after the constructor).
        this.refcounts = new Qcow2Refcounts(file, header, refcountTable, fileSize, this::writeBack);
        this.clusters = new Qcow2ClusterMap(file, header, l1, backing == null ? 0 : backing.size(), refcounts,
                this::writeBack);
        this.copyOnWrite = new Qcow2CopyOnWrite(file, header, backing, clusters, refcounts);
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
            long[] l1 = Qcow2Table.readWhole(file, header.l1TableOffset(), header.l1Needed());
            Qcow2ClusterMap.refuseCompressedClusters(file, header, l1, fileSize, where);
            long[] refcountTable = file.readOnly ? new long[0] : Qcow2Table.readWhole(file,
                    header.refcountTableOffset(), header.refcountTableClusters() * header.clusterSize() / 8);
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

    /** Where the bytes of {@code [position, end)} are; see {@link Qcow2ClusterMap#extents}. */
    private List<Extent> map(long position, long end) throws IOException {
        lock.lock();
        try {
            return clusters.extents(position, end);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
        Scatter data = new Scatter(addresses, lengths, count);
        requireWritable();
        long end = checkRange(position, data.total());
        List<Extent> inPlace;
        lock.lock();
        try {
            inPlace = copyOnWrite.write(data, position, end);
        } finally {
            lock.unlock();
        }
        for (Extent x : inPlace) {
            Scatter part = data.slice(x.requestOffset(), x.length());
            file.host.writeVectored(part.addresses(), part.lengths(), part.count(), x.source());
        }
    }

    /** Zeroes the range, by the zero flag where it covers whole clusters: see {@link Qcow2CopyOnWrite#zero}. */
    @Override
    public void zero(long position, long length) throws IOException {
        requireWritable();
        long end = checkRange(position, length);
        lock.lock();
        try {
            copyOnWrite.zero(position, end);
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
            long count = (capacity + clusterSize - 1) >>> clusterBits;
            clusters.forEachOwnCluster(count, cluster -> {
                long start = cluster << clusterBits;
                long end = Math.min(capacity, start + clusterSize);
                blocks.set(Math.toIntExact(start / blockSize), Math.toIntExact((end - 1) / blockSize + 1));
            });
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
            copyOnWrite.close();
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

    /**
     * Writes dirty metadata back so that the image is consistent after a crash at any point:
     * refcounts, then a sync (new data clusters and refcounts durable before anything names
     * them), then L2 tables, then a sync and the L1 entries of new L2 tables. Runs with the lock held.
     */
    private void writeBack() throws IOException {
        boolean l2Dirty = clusters.l2TablesDirty();
        if (!l2Dirty && !refcounts.dirty() && !clusters.l1Dirty()) {
            return;
        }
        refcounts.write();
        file.host.sync();
        clusters.writeL2Tables();
        if (clusters.l1Dirty()) {
            if (l2Dirty) {
                file.host.sync();
            }
            clusters.writeL1();
        }
    }
}
