package io.stratus.kvm.virtio.block;

import java.io.IOException;

/**
 * The storage behind a virtio-blk device: an image file on this host ({@link DiskImage}), a volume
 * on an NBD server ({@link NbdDisk}), or nothing at all ({@link #EMPTY}, an empty volume slot).
 * Transfers go between the storage and guest RAM by host address, so a file can use one
 * preadv/pwritev and other kinds copy as they must.
 *
 * <p>Methods may be called from several threads at once (one I/O thread per queue).
 */
public interface BlockBackend extends AutoCloseable {
    /** No storage: capacity 0, every transfer is out of range. What an empty volume slot holds. */
    BlockBackend EMPTY = new Empty();

    /** Size of the disk the guest sees, in bytes: whole sectors. */
    long capacity();

    /** Whether writes, discards and write-zeroes are refused. */
    boolean readOnly();

    /** What the storage is, for logs and error messages (a path, an NBD export). */
    String describe();

    /** Reads {@code [position, position + sum(lengths))} into {@code count} host buffers (guest RAM, by host address). */
    void read(long[] addresses, long[] lengths, int count, long position) throws IOException;

    /** Writes {@code count} host buffers (guest RAM, by host address) at {@code position}. */
    void write(long[] addresses, long[] lengths, int count, long position) throws IOException;

    /** Makes every completed write durable. */
    void flush() throws IOException;

    /** Makes {@code [position, position + length)} read as zeros. */
    void zero(long position, long length) throws IOException;

    /** Releases the storage (closes the file, ends the connection). */
    @Override
    void close();

    /** The backend of an empty slot. */
    final class Empty implements BlockBackend {
        private Empty() {
        }

        @Override
        public long capacity() {
            return 0;
        }

        @Override
        public boolean readOnly() {
            return false;
        }

        @Override
        public String describe() {
            return "an empty slot";
        }

        @Override
        public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
            throw new IOException("the slot is empty");
        }

        @Override
        public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
            throw new IOException("the slot is empty");
        }

        @Override
        public void flush() {
            // Nothing was written.
        }

        @Override
        public void zero(long position, long length) throws IOException {
            throw new IOException("the slot is empty");
        }

        @Override
        public void close() {
            // Nothing to release.
        }
    }
}
