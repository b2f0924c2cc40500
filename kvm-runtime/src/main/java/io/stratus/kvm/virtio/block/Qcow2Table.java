package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One cluster of big-endian 64-bit entries as it is cached: an L2 table (guest cluster to host
 * offset) or a refcount block (four 16-bit refcounts to an entry). Changes stay in {@link #entries}
 * until the image writes the table back, in the order that keeps the image consistent.
 */
final class Qcow2Table {
    final long offset;
    final long[] entries;
    boolean dirty;

    Qcow2Table(long offset, long[] entries, boolean dirty) {
        this.offset = offset;
        this.entries = entries;
        this.dirty = dirty;
    }

    /** Reads the {@code count} entries of the table at {@code offset} (checked to be a cluster inside the image). */
    static Qcow2Table read(LockedFile file, long offset, int count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(count * 8);
        if (file.readAt(b, offset) != b.capacity()) {
            throw new IOException("corrupt image: table at offset " + offset + " ends past the end of the file");
        }
        long[] entries = new long[count];
        b.flip().asLongBuffer().get(entries);
        return new Qcow2Table(offset, entries, false);
    }

    /** Writes the entries back to their cluster; the table is clean after. */
    void write(LockedFile file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(entries.length * 8);
        b.asLongBuffer().put(entries);
        file.writeAt(b, offset);
        dirty = false;
    }

    /**
     * Reads a whole table of {@code entries} entries at {@code offset} (the L1 or refcount table,
     * up to 32 MiB, whose place the header check put inside the file), a MiB at a time.
     */
    static long[] readWhole(LockedFile file, long offset, long entries) throws IOException {
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

    /** Writes entry {@code index} of the whole table at {@code tableOffset}: one changed L1 or refcount table entry. */
    static void writeEntry(LockedFile file, long tableOffset, int index, long value) throws IOException {
        file.writeAt(ByteBuffer.allocate(8).putLong(0, value), tableOffset + 8L * index);
    }
}
