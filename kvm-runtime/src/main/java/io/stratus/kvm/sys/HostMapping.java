package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A private mapping of host memory, the backing of guest RAM: anonymous, or of a file (a restored
 * snapshot). Offsets are checked here too, so that a caller's mistake is an exception and never a
 * write outside the mapping.
 */
public final class HostMapping implements AutoCloseable {
    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    /** pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst): page present in RAM, in swap. */
    private static final long PM_PRESENT = 1L << 63;
    private static final long PM_SWAP = 1L << 62;

    /** madvise(2) advice the VMM uses on guest memory. */
    public enum Advice {
        /** Let KSM merge identical pages. */
        MERGEABLE(LibC.MADV_MERGEABLE),
        /** Stop KSM merging (and unshare merged pages). */
        UNMERGEABLE(LibC.MADV_UNMERGEABLE),
        /** Drop the pages: the host gets the memory back, the next read sees zeros. */
        DONTNEED(LibC.MADV_DONTNEED),
        /** Leave guest memory out of core dumps of the VMM. */
        DONTDUMP(LibC.MADV_DONTDUMP);

        private final int value;

        Advice(int value) {
            this.value = value;
        }
    }

    private final Pointer base;
    private final long size;
    private final boolean fileBacked;
    private volatile boolean mergeable;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HostMapping(Pointer base, long size, boolean fileBacked) {
        this.base = base;
        this.size = size;
        this.fileBacked = fileBacked;
    }

    /**
     * Maps {@code size} bytes of zeroed, private, anonymous memory. No swap is reserved for it:
     * the host commits pages as the guest touches them.
     */
    public static HostMapping anonymous(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("mapping size must be positive, not " + size);
        }
        try {
            Pointer p = LibC.mmap(null, size, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
            return new HostMapping(p, size, false);
        } catch (LastErrorException e) {
            throw new KvmException("mmap of " + size + " bytes of guest memory", e.getErrorCode());
        }
    }

    /**
     * Maps {@code size} bytes of {@code file} privately: pages are read from the file when first
     * touched, and writes stay in memory (copy-on-write), never reaching the file.
     */
    public static HostMapping privateFile(java.nio.file.Path file, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("mapping size must be positive, not " + size);
        }
        int fd;
        try {
            fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new KvmException("open " + file, e.getErrorCode());
        }
        try {
            Pointer p = LibC.mmap(null, size, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_PRIVATE | LibC.MAP_NORESERVE, fd, 0);
            return new HostMapping(p, size, true);
        } catch (LastErrorException e) {
            throw new KvmException("mmap of " + file, e.getErrorCode());
        } finally {
            try {
                // Safe because: the mapping keeps its own reference to the file.
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // The descriptor is released either way.
            }
        }
    }

    /** The host virtual address of the first byte, for {@code KVM_SET_USER_MEMORY_REGION}. */
    public long address() {
        return Pointer.nativeValue(base);
    }

    public long size() {
        return size;
    }

    private void check(long offset, long length) {
        if (closed.get()) {
            throw new IllegalStateException("host mapping is unmapped");
        }
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IndexOutOfBoundsException("range [" + offset + ", +" + length + ") outside mapping of "
                    + size + " bytes");
        }
    }

    public byte getByte(long offset) {
        check(offset, 1);
        return base.getByte(offset);
    }

    public void putByte(long offset, byte value) {
        check(offset, 1);
        base.setByte(offset, value);
    }

    public short getShort(long offset) {
        check(offset, 2);
        return base.getShort(offset);
    }

    public void putShort(long offset, short value) {
        check(offset, 2);
        base.setShort(offset, value);
    }

    public int getInt(long offset) {
        check(offset, 4);
        return base.getInt(offset);
    }

    public void putInt(long offset, int value) {
        check(offset, 4);
        base.setInt(offset, value);
    }

    public long getLong(long offset) {
        check(offset, 8);
        return base.getLong(offset);
    }

    public void putLong(long offset, long value) {
        check(offset, 8);
        base.setLong(offset, value);
    }

    public void read(long offset, byte[] dst, int dstOffset, int length) {
        check(offset, length);
        base.read(offset, dst, dstOffset, length);
    }

    public void write(long offset, byte[] src, int srcOffset, int length) {
        check(offset, length);
        base.write(offset, src, srcOffset, length);
    }

    /** Sets {@code length} bytes to zero. */
    public void fill(long offset, long length, byte value) {
        check(offset, length);
        base.setMemory(offset, length, value);
    }

    /**
     * A little-endian direct buffer over {@code [offset, offset + length)}, for zero-copy I/O
     * between files or sockets and guest memory. Valid until {@link #close()}.
     */
    public ByteBuffer buffer(long offset, int length) {
        check(offset, length);
        return base.getByteBuffer(offset, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** madvise(2) over a page-aligned range. */
    public void advise(long offset, long length, Advice advice) {
        check(offset, length);
        try {
            LibC.madvise(base.share(offset), length, advice.value);
            if (advice == Advice.MERGEABLE) {
                mergeable = true;
            }
        } catch (LastErrorException e) {
            throw new KvmException("madvise(" + advice + ")", e.getErrorCode());
        }
    }

    /**
     * Gives the pages of a page-aligned range back to the host; the next read of any of them sees
     * zeros. For an anonymous mapping that is MADV_DONTNEED; for a private file mapping (a
     * restored snapshot), where MADV_DONTNEED would bring back the file's bytes, fresh anonymous
     * memory is mapped over the range instead.
     */
    public void discard(long offset, long length) {
        check(offset, length);
        try {
            if (fileBacked) {
                // Safe because: MAP_FIXED replaces exactly [offset, offset + length) inside this mapping,
                // with the same protection; KVM follows the change through its MMU notifier.
                LibC.mmap(base.share(offset), length, LibC.PROT_READ | LibC.PROT_WRITE,
                        LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_FIXED | LibC.MAP_NORESERVE, -1, 0);
                if (mergeable) {
                    // The new mapping starts without the old one's advice; KSM must keep seeing it.
                    LibC.madvise(base.share(offset), length, LibC.MADV_MERGEABLE);
                }
            } else {
                LibC.madvise(base.share(offset), length, LibC.MADV_DONTNEED);
            }
        } catch (LastErrorException e) {
            throw new KvmException("discarding guest pages", e.getErrorCode());
        }
    }

    /**
     * Finds the pages among {@code count} pages from page-aligned {@code offset} that nothing backs
     * yet: no host page and no swap slot (the guest never touched them, or they were discarded since).
     * Sets bit {@code i % 64} of {@code bits[i / 64]} for each such page {@code i}, clears the others,
     * and returns true; such a page reads as zeros (see below) without having to be read. Returns
     * false, bits unspecified, where this cannot be told: for a file mapping, or where
     * {@code /proc/self/pagemap} cannot be read (a kernel without CONFIG_PROC_PAGE_MONITOR, a
     * restricted /proc).
     *
     * <p>Why an unbacked page reads as zeros: in a private anonymous mapping a page table entry is
     * either empty or not. pagemap reports every non-empty entry as present (a page in RAM, the
     * shared zero page, a KSM page, a NUMA-hinting entry) or as swapped (a swap entry, a migration
     * entry, a marker), so an entry with neither bit is empty, and an empty entry of anonymous
     * memory is filled with zeros on its first access — never-touched and {@code MADV_DONTNEED}
     * pages alike. A swapped-out page, whose data is on disk, has the swap bit and is not reported
     * here (mincore(2) would call it "not resident"). In a private file mapping an empty entry
     * shows the file's bytes, so nothing is reported there. The answer holds at the moment of the
     * read only: a page written afterwards is the caller's to track (the dirty log does).
     */
    public boolean findUnbacked(long offset, int count, long[] bits) {
        check(offset, (long) count * 4096);
        if (offset % 4096 != 0 || count > Integer.MAX_VALUE / 8 || bits.length < (count + 63) / 64) {
            throw new IllegalArgumentException("unaligned offset " + offset + " or a bitmap too small for " + count
                    + " pages");
        }
        if (fileBacked) {
            return false;
        }
        Arrays.fill(bits, 0, (count + 63) / 64, 0L);
        ByteBuffer entries = ByteBuffer.allocate(count * 8).order(ByteOrder.nativeOrder());
        try (FileChannel pagemap = FileChannel.open(PAGEMAP, StandardOpenOption.READ)) {
            long at = (address() + offset) / 4096 * 8;
            while (entries.hasRemaining()) {
                int r = pagemap.read(entries, at + entries.position());
                if (r <= 0) {
                    return false;
                }
            }
        } catch (IOException | SecurityException e) {
            return false;
        }
        if (closed.get()) {
            // Unmapped meanwhile: the entries may describe something else.
            return false;
        }
        for (int i = 0; i < count; i++) {
            if ((entries.getLong(i * 8) & (PM_PRESENT | PM_SWAP)) == 0) {
                bits[i >>> 6] |= 1L << i;
            }
        }
        return true;
    }

    /** How many bytes of {@code [offset, offset + length)} are resident in host RAM (mincore). */
    public long residentBytes(long offset, long length) {
        check(offset, length);
        long pages = (length + 4095) / 4096;
        long resident = 0;
        final long chunkPages = 1 << 18;
        Memory vec = new Memory(Math.min(pages, chunkPages));
        for (long first = 0; first < pages; first += chunkPages) {
            long n = Math.min(chunkPages, pages - first);
            try {
                LibC.mincore(base.share(offset + first * 4096), n * 4096, vec);
            } catch (LastErrorException e) {
                throw new KvmException("mincore", e.getErrorCode());
            }
            byte[] bits = vec.getByteArray(0, (int) n);
            for (byte b : bits) {
                resident += b & 1;
            }
        }
        return resident * 4096;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                LibC.munmap(base, size);
            } catch (LastErrorException ignored) {
                // Safe to ignore: munmap of a mapping this object created cannot fail for its arguments.
            }
        }
    }
}
