package io.stratus.kvm.virtio.block;

import static io.stratus.kvm.virtio.block.Qcow2ClusterMap.COPIED;
import static io.stratus.kvm.virtio.block.Qcow2ClusterMap.ZERO;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.virtio.block.Qcow2ClusterMap.Extent;
import io.stratus.kvm.virtio.block.Qcow2ClusterMap.Kind;
import io.stratus.kvm.virtio.block.Qcow2ClusterMap.Mapping;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of writing and zeroing an image that changes its metadata, run under the image's lock.
 * A guest cluster the image has no data cluster for (unallocated, or a zero cluster) gets one at
 * the end of the file when it is written: whole clusters straight from the request, a partial one
 * merged first with what the cluster read as before (the backing file's bytes, or zeros). Writes
 * to data clusters already allocated are handed back, for the image to move without the lock.
 */
final class Qcow2CopyOnWrite implements AutoCloseable {
    /** The most clusters given new space in one write (64 MiB of 64 KiB clusters). */
    private static final int MAX_RUN = 1024;

    private final LockedFile file;
    /** The raw base, or null when the image has none (then no cluster is backed). */
    private final Qcow2BackingFile backing;
    private final Qcow2ClusterMap clusters;
    private final Qcow2Refcounts refcounts;
    private final int version;
    private final int clusterBits;
    private final int clusterSize;
    /** A cluster-sized buffer for copy-on-write merges. */
    private final Memory mergeBuffer;
    /** A cluster of zeros, written where zeroing cannot use the zero flag. */
    private final Memory zeros;

    Qcow2CopyOnWrite(LockedFile file, Qcow2Header header, Qcow2BackingFile backing, Qcow2ClusterMap clusters,
                     Qcow2Refcounts refcounts) {
        this.file = file;
        this.backing = backing;
        this.clusters = clusters;
        this.refcounts = refcounts;
        this.version = header.version();
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.mergeBuffer = new Memory(clusterSize);
        this.zeros = new Memory(clusterSize);
        zeros.clear();
    }

    /**
     * Writes the parts of {@code data} (for guest bytes {@code [position, end)}) that need new
     * clusters or a merge, and returns the rest: extents of data clusters already allocated.
     */
    List<Extent> write(Scatter data, long position, long end) throws IOException {
        List<Extent> inPlace = new ArrayList<>();
        long pos = position;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long within = pos & (clusterSize - 1);
            long n = Math.min(end - pos, clusterSize - within);
            Mapping m = clusters.lookup(cluster);
            if (m.kind() == Kind.DATA) {
                Extent.append(inPlace, new Extent(Kind.DATA, pos - position, n, m.host() + within));
                pos += n;
            } else if (n == clusterSize && m.host() == 0) {
                // Whole clusters that need new space: as many in a row as the request covers, in one write.
                int run = 1;
                while (pos + (run + 1L) * clusterSize <= end && run < MAX_RUN) {
                    Mapping next = clusters.lookup(cluster + run);
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
        return inPlace;
    }

    /** Gives {@code run} unallocated (or unpreallocated zero) clusters new space and fills it from {@code data}. */
    private void writeNewClusters(long cluster, int run, Scatter data) throws IOException {
        // The L2 tables first, so that the data clusters are contiguous.
        for (int i = 0; i < run; i++) {
            clusters.ensureL2Table(cluster + i);
        }
        long first = refcounts.allocate(run);
        file.host.writeVectored(data.addresses(), data.lengths(), data.count(), first << clusterBits);
        for (int i = 0; i < run; i++) {
            clusters.setEntry(cluster + i, ((first + i) << clusterBits) | COPIED);
        }
    }

    /**
     * Writes {@code data} at {@code within} of a cluster that is not plain allocated data: an
     * unallocated cluster (copied from the backing file, or zeros), or a zero cluster (zeros,
     * in its preallocated space if it has some).
     */
    private void writeCluster(long cluster, Mapping m, long within, Scatter data) throws IOException {
        // Safe because: mergeBuffer is this object's own cluster-sized native buffer, used under the lock
        // only, and freed on close, which the image calls under the lock after the last use.
        Scatter merged = Scatter.of(Pointer.nativeValue(mergeBuffer), clusterSize);
        if (data.total() < clusterSize) {
            if (m.kind() == Kind.UNALLOCATED && clusters.backed(cluster)) {
                backing.read(merged.addresses(), merged.lengths(), 1, cluster << clusterBits);
            } else {
                mergeBuffer.clear(clusterSize);
            }
        }
        data.copyTo(mergeBuffer.getByteBuffer(0, clusterSize).position((int) within));
        long host = m.host();
        if (host == 0) {
            clusters.ensureL2Table(cluster);
            host = refcounts.allocate(1) << clusterBits;
        }
        file.host.writeVectored(merged.addresses(), merged.lengths(), 1, host);
        clusters.setEntry(cluster, host | COPIED);
    }

    /**
     * Zeroes {@code [position, end)}: whole clusters by the zero flag (version 3; allocated space
     * is kept and its host range punched out), partial clusters and version 2 images by writing
     * zeros. Clusters that already read as zeros are left alone.
     */
    void zero(long position, long end) throws IOException {
        long pos = position;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long within = pos & (clusterSize - 1);
            long n = Math.min(end - pos, clusterSize - within);
            pos += n;
            Mapping m = clusters.lookup(cluster);
            if (m.kind() == Kind.ZERO || (m.kind() == Kind.UNALLOCATED && !clusters.backed(cluster))) {
                continue;
            }
            if (n == clusterSize && version >= 3) {
                if (m.kind() == Kind.DATA) {
                    clusters.setEntry(cluster, m.host() | COPIED | ZERO);
                    file.host.punchHole(m.host(), clusterSize);
                } else {
                    clusters.setEntry(cluster, ZERO);
                }
            } else {
                // Safe because: zeros is this object's own cluster of zeros, never written after
                // construction, and n is at most a cluster.
                Scatter zeroData = Scatter.of(Pointer.nativeValue(zeros), n);
                if (m.kind() == Kind.DATA) {
                    file.host.writeVectored(zeroData.addresses(), zeroData.lengths(), 1, m.host() + within);
                } else {
                    writeCluster(cluster, m, within, zeroData);
                }
            }
        }
    }

    /** Frees the buffers; the image calls this once, under its lock, when it closes. */
    @Override
    public void close() {
        mergeBuffer.close();
        zeros.close();
    }
}
