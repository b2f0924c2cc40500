package io.stratus.kvm.migration;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.virtio.block.DiskImage;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Applies DISK payloads to the target's own disk images, as hostile input: every entry must name a
 * writable disk of the declared ones, and its offset and length must be whole sectors inside that
 * disk (a data entry at most {@link Frame#MAX_DISK_DATA} bytes). Data goes through the image's
 * format, so a qcow2 overlay allocates it in its own layer; zero runs become the format's zeroing
 * (the zero flag, a punched hole).
 */
final class DiskReceiver implements AutoCloseable {
    private static final int SECTOR = DiskImage.SECTOR_SIZE;

    /** null where the guest's disk is on an NBD export: never sent, never written here. */
    private final List<DiskImage> disks;
    /** Where each disk's entries must end: its capacity, or less where the source declared less. */
    private final long[] sizes;
    /** Where a data entry is staged for the image: DiskImage writes from host memory only. */
    private final Memory buffer = new Memory(Frame.MAX_DISK_DATA);
    private final byte[] data = new byte[Frame.MAX_DISK_DATA];
    private long dataBytes;
    private long zeroBytes;

    /** @param disks the target VM's disks, in the guest's order; null for a disk on an NBD export */
    DiskReceiver(List<DiskImage> disks) {
        this(disks, disks.stream().mapToLong(d -> d == null ? 0 : d.capacity()).toArray());
    }

    /**
     * @param disks the target's disks, in the guest's order
     * @param sizes the size the source declared for each disk, at most its capacity: an entry past it is refused
     */
    DiskReceiver(List<DiskImage> disks, long[] sizes) {
        if (sizes.length != disks.size()) {
            throw new IllegalArgumentException(sizes.length + " sizes for " + disks.size() + " disks");
        }
        for (int i = 0; i < sizes.length; i++) {
            long capacity = disks.get(i) == null ? 0 : disks.get(i).capacity();
            if (sizes[i] < 0 || sizes[i] > capacity) {
                throw new IllegalArgumentException("disk " + i + " size " + sizes[i] + " is outside its capacity of "
                        + capacity);
            }
        }
        this.disks = Collections.unmodifiableList(new ArrayList<>(disks));
        this.sizes = sizes.clone();
    }

    long dataBytes() {
        return dataBytes;
    }

    long zeroBytes() {
        return zeroBytes;
    }

    /** Applies one DISK payload. */
    void apply(ByteBuffer payload) {
        try {
            while (payload.hasRemaining()) {
                int kind = payload.get() & 0xff;
                int index = payload.get() & 0xff;
                long offset = payload.getLong();
                switch (kind) {
                    case Frame.DISK_DATA -> {
                        long length = payload.getInt() & 0xffffffffL;
                        if (length > Frame.MAX_DISK_DATA) {
                            throw malformed("a disk data entry of " + length + " bytes, more than its limit of "
                                    + Frame.MAX_DISK_DATA);
                        }
                        DiskImage disk = check(index, offset, length);
                        int n = (int) length;
                        payload.get(data, 0, n);
                        buffer.write(0, data, 0, n);
                        // Safe because: buffer is this receiver's own native block of MAX_DISK_DATA bytes, alive
                        // until close(), and n is at most that.
                        write(index, disk, () -> disk.write(new long[] {Pointer.nativeValue(buffer)}, new long[] {n},
                                1, offset));
                        dataBytes += n;
                    }
                    case Frame.DISK_ZERO -> {
                        long length = payload.getLong();
                        DiskImage disk = check(index, offset, length);
                        write(index, disk, () -> disk.zero(offset, length));
                        zeroBytes += length;
                    }
                    default -> throw malformed("unknown disk entry kind " + kind);
                }
            }
        } catch (BufferUnderflowException e) {
            throw malformed("a disk entry is cut short by the end of its frame");
        }
    }

    /** The disk {@code index}, if {@code [offset, offset + length)} is a writable, sector-aligned range of it. */
    private DiskImage check(int index, long offset, long length) {
        if (index >= disks.size()) {
            throw malformed("disk " + index + " does not exist; the guest has " + disks.size());
        }
        DiskImage disk = disks.get(index);
        if (disk == null) {
            throw malformed("disk " + index + " is on an NBD export (shared) and is never sent");
        }
        if (disk.readOnly()) {
            throw malformed("disk " + index + " is read-only and is never sent");
        }
        if (length < SECTOR || offset < 0 || offset % SECTOR != 0 || length % SECTOR != 0) {
            throw malformed("disk " + index + " range [" + offset + ", +" + length
                    + ") is not a non-empty range of whole 512-byte sectors");
        }
        if (offset > sizes[index] - length) {
            throw malformed("disk " + index + " range [" + offset + ", +" + length + ") is outside the disk of "
                    + sizes[index] + " bytes");
        }
        return disk;
    }

    private interface DiskWrite {
        void run() throws IOException;
    }

    private static void write(int index, DiskImage disk, DiskWrite write) {
        try {
            write.run();
        } catch (IOException e) {
            throw new MigrationException("writing disk " + index + " (" + disk.path() + ") failed: " + e.getMessage(),
                    e);
        }
    }

    /** Makes everything written durable (a qcow2 image writes its metadata back). */
    void flush() {
        for (int i = 0; i < disks.size(); i++) {
            DiskImage disk = disks.get(i);
            if (disk != null && !disk.readOnly()) {
                write(i, disk, disk::flush);
            }
        }
    }

    private static MigrationException malformed(String what) {
        return new MigrationException("malformed migration stream from the source: " + what);
    }

    /** Frees the staging buffer. */
    @Override
    public void close() {
        buffer.close();
    }
}
