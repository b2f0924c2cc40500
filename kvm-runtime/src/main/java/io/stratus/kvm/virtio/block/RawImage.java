package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.BitSet;

/** A raw disk image: guest sector N is file offset N * 512, and the guest sees the whole file. */
final class RawImage implements DiskImage {
    private final LockedFile file;
    private final long capacity;

    private RawImage(LockedFile file, long capacity) {
        this.file = file;
        this.capacity = capacity;
    }

    /** Takes over {@code file} (closing it if it cannot be a disk). */
    static RawImage open(LockedFile file) {
        try {
            long size = file.size();
            if (size < SECTOR_SIZE) {
                throw new DiskImageException("disk image " + file.path + " is smaller than one 512-byte sector");
            }
            return new RawImage(file, size - size % SECTOR_SIZE);
        } catch (IOException e) {
            file.close();
            throw new DiskImageException("cannot use disk image " + file.path + ": " + e.getMessage());
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public Path path() {
        return file.path;
    }

    @Override
    public boolean readOnly() {
        return file.readOnly;
    }

    /** Usable size in bytes: the file size rounded down to whole sectors. */
    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
        file.host.readVectored(addresses, lengths, count, position);
    }

    @Override
    public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
        if (file.readOnly) {
            throw new IOException("disk image " + file.path + " is attached read-only");
        }
        file.host.writeVectored(addresses, lengths, count, position);
    }

    @Override
    public void flush() throws IOException {
        file.channel.force(false);
    }

    /** Zeroes {@code [position, position + length)}, deallocating it where the file system can. */
    @Override
    public void zero(long position, long length) throws IOException {
        if (file.readOnly) {
            throw new IOException("disk image " + file.path + " is attached read-only");
        }
        if (file.host.punchHole(position, length)) {
            return;
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, 1 << 20));
        long done = 0;
        while (done < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - done));
            while (zeros.hasRemaining()) {
                done += file.channel.write(zeros, position + done);
            }
        }
    }

    /** Every block: a raw file has no layer of its own to tell apart (a copy skips zeros by reading them). */
    @Override
    public BitSet ownBlocks(int blockSize) {
        if (blockSize < SECTOR_SIZE || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("a block of " + blockSize + " bytes; a power of two of 512 or more");
        }
        BitSet all = new BitSet();
        all.set(0, Math.toIntExact((capacity + blockSize - 1) / blockSize));
        return all;
    }

    @Override
    public void close() {
        file.close();
    }
}
