package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.BitSet;

/**
 * A disk as virtio-blk sees it: a capacity, vectored reads and writes between the image and guest
 * RAM (by host address), flush and zeroing. {@link #open} tells the formats apart by the file's
 * first bytes: a qcow2 image ({@code "QFI\xfb"}) is a {@link Qcow2Image}, anything else is raw.
 *
 * <p>Every image is locked for the guest that uses it: exclusively when writable, shared when
 * read-only, so two guests never write one disk, and nothing writes a disk a guest reads. The
 * locks are open-file-description locks, so they hold between guests in one JVM as well as
 * between processes. A qcow2 overlay's backing file is opened read-only with a shared lock, so
 * any number of overlays can share one base while nothing writes it.
 *
 * <p>Methods may be called from several threads at once (one I/O thread per queue).
 */
public sealed interface DiskImage extends BlockBackend permits RawImage, Qcow2Image {
    int SECTOR_SIZE = 512;

    /**
     * Opens and locks {@code path} as a raw or qcow2 image; every problem (missing, unreadable,
     * locked, too small, a qcow2 feature that is not supported, a corrupt qcow2 header or table)
     * is a {@link DiskImageException} naming the file.
     */
    static DiskImage open(Path path, boolean readOnly) {
        return open(path, readOnly, DiskFormat.PROBE);
    }

    /** Opens {@code path} in {@code format}; {@link DiskFormat#PROBE} tells by the first bytes. */
    static DiskImage open(Path path, boolean readOnly, DiskFormat format) {
        LockedFile file = LockedFile.open(path, readOnly);
        boolean qcow2 = format == DiskFormat.QCOW2;
        if (format == DiskFormat.PROBE) {
            try {
                ByteBuffer magic = ByteBuffer.allocate(4);
                qcow2 = file.readAt(magic, 0) == 4 && magic.getInt(0) == Qcow2Image.MAGIC;
            } catch (IOException e) {
                file.close();
                throw new DiskImageException("cannot use disk image " + path + ": " + e.getMessage());
            }
        }
        return qcow2 ? Qcow2Image.open(file) : RawImage.open(file);
    }

    Path path();

    @Override
    default String describe() {
        return path().toString();
    }

    @Override
    boolean readOnly();

    /** Size of the disk the guest sees, in bytes: whole sectors. */
    @Override
    long capacity();

    /**
     * Reads {@code [position, position + sum(lengths))} of the disk into {@code count} host buffers
     * (guest RAM, by host address) with as few system calls as the format allows.
     */
    void read(long[] addresses, long[] lengths, int count, long position) throws IOException;

    /** Writes {@code count} host buffers (guest RAM, by host address) to the disk at {@code position}. */
    void write(long[] addresses, long[] lengths, int count, long position) throws IOException;

    /** Makes every completed write durable (fdatasync of the image). */
    void flush() throws IOException;

    /** Makes {@code [position, position + length)} read as zeros, releasing space where the format can. */
    void zero(long position, long length) throws IOException;

    /**
     * The {@code blockSize} blocks (by index) that may hold something of this image's own, which a
     * copy onto a fresh image of the same kind must carry: for a qcow2 overlay, the blocks with a
     * cluster allocated or zeroed in the overlay itself (what shows through from the backing file is
     * not included: the copy is to have an identical backing file); for a raw image, every block.
     *
     * @param blockSize a power of two, at least one sector
     */
    BitSet ownBlocks(int blockSize) throws IOException;

    /** Closes the image (and its backing file); the locks go with them. */
    @Override
    void close();
}
