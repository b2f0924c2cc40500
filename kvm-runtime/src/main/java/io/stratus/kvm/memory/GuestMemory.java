package io.stratus.kvm.memory;

import io.stratus.kvm.sys.HostMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Guest RAM: one host mapping, presented to the guest as one or more regions. Every access is
 * bounds-checked against the regions; an access that starts in a region but runs past its end
 * fails instead of reaching the host memory behind it.
 *
 * <p><b>Write tracking</b> (for live migration): between {@link #startWriteTracking()} and
 * {@link #stopWriteTracking()}, every write the VMM makes into guest RAM through this class
 * ({@code write*}, {@link #write}, {@link #fill}, {@link #discard}) marks its pages, and
 * {@link #takeWrittenPages()} hands them over. KVM's dirty log does not see these writes: they do
 * not go through the guest's MMU. Code that writes guest RAM through a raw view ({@link #slice},
 * {@link #hostAddress(GuestAddress, long)} handed to a system call) must call
 * {@link #markWritten} after the write completes. With tracking off, marking costs one volatile
 * read.
 */
public final class GuestMemory implements AutoCloseable {
    /** Start of the 1 GiB hole below 4 GiB that holds device MMIO (IOAPIC, LAPIC, virtio). */
    public static final long MMIO_GAP_START = 0xC000_0000L;
    /** First address above the MMIO hole. */
    public static final long MMIO_GAP_END = 0x1_0000_0000L;
    public static final long PAGE_SIZE = 4096;

    private final HostMapping mapping;
    private final List<GuestRegion> regions;
    /** Pages the VMM wrote while write tracking is on; null while it is off. */
    private volatile PageBitmap written;

    private GuestMemory(HostMapping mapping, List<GuestRegion> regions) {
        this.mapping = mapping;
        this.regions = List.copyOf(regions);
    }

    /**
     * The x86 PC layout for {@code ramBytes} of RAM: from 0 up to the MMIO hole, and the rest
     * above 4 GiB.
     *
     * @param mergeable let KSM merge identical guest pages
     */
    public static GuestMemory x86(long ramBytes, boolean mergeable) {
        List<GuestRegion> regions = layout(ramBytes);
        return advised(HostMapping.anonymous(ramBytes), regions, ramBytes, mergeable);
    }

    /**
     * The x86 layout for {@code ramBytes}, backed by {@code file} (a memory image written by
     * {@link #saveTo}): mapped privately, so pages load when the guest first touches them and the
     * guest's writes never reach the file.
     */
    public static GuestMemory x86FromFile(Path file, long ramBytes, boolean mergeable) {
        List<GuestRegion> regions = layout(ramBytes);
        return advised(HostMapping.privateFile(file, ramBytes), regions, ramBytes, mergeable);
    }

    /** Guest RAM is left out of core dumps, and offered to KSM where asked; a failure unmaps it. */
    private static GuestMemory advised(HostMapping mapping, List<GuestRegion> regions, long ramBytes,
                                       boolean mergeable) {
        try {
            mapping.advise(0, ramBytes, HostMapping.Advice.DONTDUMP);
            if (mergeable) {
                mapping.advise(0, ramBytes, HostMapping.Advice.MERGEABLE);
            }
        } catch (RuntimeException e) {
            mapping.close();
            throw e;
        }
        return new GuestMemory(mapping, regions);
    }

    private static List<GuestRegion> layout(long ramBytes) {
        if (ramBytes <= 0 || ramBytes % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest RAM must be a positive multiple of 4 KiB, not " + ramBytes);
        }
        List<GuestRegion> regions = new ArrayList<>(2);
        long low = Math.min(ramBytes, MMIO_GAP_START);
        regions.add(new GuestRegion(GuestAddress.of(0), low, 0));
        if (ramBytes > low) {
            regions.add(new GuestRegion(GuestAddress.of(MMIO_GAP_END), ramBytes - low, low));
        }
        return regions;
    }

    /**
     * Writes all of guest RAM, in mapping order, to {@code file}, leaving all-zero pages as holes
     * so that a mostly idle guest makes a small file. The guest must not run meanwhile. The file
     * is written beside and then renamed over {@code file}: a guest restored from {@code file}
     * maps it, and must go on seeing the old contents.
     */
    public void saveTo(Path file) throws IOException {
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        writeTo(partial);
        Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void writeTo(Path file) throws IOException {
        long size = mapping.size();
        try (FileChannel out = FileChannel.open(file,
                StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            final int chunk = 1 << 21;
            for (long offset = 0; offset < size; offset += chunk) {
                int length = (int) Math.min(chunk, size - offset);
                ByteBuffer buffer = mapping.buffer(offset, length);
                int runStart = -1;
                for (int page = 0; page <= length; page += (int) PAGE_SIZE) {
                    boolean zero = page == length || isZeroPage(buffer, page);
                    if (!zero && runStart < 0) {
                        runStart = page;
                    } else if (zero && runStart >= 0) {
                        ByteBuffer run = buffer.duplicate().position(runStart).limit(page);
                        while (run.hasRemaining()) {
                            out.write(run, offset + run.position());
                        }
                        runStart = -1;
                    }
                }
            }
            if (out.size() < size) {
                // The last page may be a hole: write its final byte so the file has the full length.
                out.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
            out.force(true);
        }
    }

    private static boolean isZeroPage(ByteBuffer buffer, int page) {
        for (int i = page; i < page + PAGE_SIZE; i += 8) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    public List<GuestRegion> regions() {
        return regions;
    }

    /** The host virtual address of a region's first byte, for KVM memory slots. */
    public long hostAddress(GuestRegion region) {
        return mapping.address() + region.mappingOffset();
    }

    public long totalBytes() {
        return mapping.size();
    }

    /** The first address above all RAM. */
    public GuestAddress end() {
        return regions.get(regions.size() - 1).end();
    }

    /** Whether {@code [address, address + length)} lies inside one RAM region. */
    public boolean isValidRange(GuestAddress address, long length) {
        return regionOf(address, length) != null;
    }

    private GuestRegion regionOf(GuestAddress address, long length) {
        if (length < 0) {
            return null;
        }
        for (GuestRegion r : regions) {
            if (r.contains(address)) {
                return address.value() - r.start().value() <= r.size() - length ? r : null;
            }
        }
        return null;
    }

    private long offsetOf(GuestAddress address, long length) {
        GuestRegion r = regionOf(address, length);
        if (r == null) {
            throw new GuestMemoryException("guest range " + address + " +" + length + " is not in guest RAM");
        }
        return r.mappingOffset() + (address.value() - r.start().value());
    }

    public byte readByte(GuestAddress address) {
        return mapping.getByte(offsetOf(address, 1));
    }

    public short readShort(GuestAddress address) {
        return mapping.getShort(offsetOf(address, 2));
    }

    public int readInt(GuestAddress address) {
        return mapping.getInt(offsetOf(address, 4));
    }

    public long readLong(GuestAddress address) {
        return mapping.getLong(offsetOf(address, 8));
    }

    public void writeByte(GuestAddress address, byte value) {
        long offset = offsetOf(address, 1);
        mapping.putByte(offset, value);
        noteWritten(offset, 1);
    }

    public void writeShort(GuestAddress address, short value) {
        long offset = offsetOf(address, 2);
        mapping.putShort(offset, value);
        noteWritten(offset, 2);
    }

    public void writeInt(GuestAddress address, int value) {
        long offset = offsetOf(address, 4);
        mapping.putInt(offset, value);
        noteWritten(offset, 4);
    }

    public void writeLong(GuestAddress address, long value) {
        long offset = offsetOf(address, 8);
        mapping.putLong(offset, value);
        noteWritten(offset, 8);
    }

    public void read(GuestAddress address, byte[] dst) {
        read(address, dst, 0, dst.length);
    }

    public void read(GuestAddress address, byte[] dst, int offset, int length) {
        mapping.read(offsetOf(address, length), dst, offset, length);
    }

    public void write(GuestAddress address, byte[] src) {
        write(address, src, 0, src.length);
    }

    public void write(GuestAddress address, byte[] src, int offset, int length) {
        long at = offsetOf(address, length);
        mapping.write(at, src, offset, length);
        noteWritten(at, length);
    }

    /** Sets {@code length} bytes to {@code value}. */
    public void fill(GuestAddress address, long length, byte value) {
        long offset = offsetOf(address, length);
        mapping.fill(offset, length, value);
        noteWritten(offset, length);
    }

    /**
     * The host virtual address of {@code [address, address + length)}, which must lie in one RAM
     * region; for handing guest buffers to system calls (preadv/pwritev) without a copy. A caller
     * that lets the host write there calls {@link #markWritten} afterwards.
     */
    public long hostAddress(GuestAddress address, long length) {
        return mapping.address() + offsetOf(address, length);
    }

    /**
     * Returns a page-aligned guest range to the host (balloon inflation, free page reporting):
     * the memory is freed, and the guest reads zeros there afterwards.
     */
    public void discard(GuestAddress address, long length) {
        if (address.value() % PAGE_SIZE != 0 || length % PAGE_SIZE != 0) {
            throw new GuestMemoryException("discard of " + address + " +" + length + " is not page-aligned");
        }
        long offset = offsetOf(address, length);
        mapping.discard(offset, length);
        // The pages now read as zeros: a migration must send them again (as zero pages).
        noteWritten(offset, length);
    }

    /** Pages of guest RAM (4 KiB each), numbered in mapping order. */
    public long pageCount() {
        return mapping.size() / PAGE_SIZE;
    }

    /** The guest-physical address of page {@code page} (mapping order). */
    public GuestAddress pageAddress(long page) {
        checkPage(page, 1);
        long offset = page * PAGE_SIZE;
        for (GuestRegion r : regions) {
            if (offset >= r.mappingOffset() && offset - r.mappingOffset() < r.size()) {
                return r.start().add(offset - r.mappingOffset());
            }
        }
        throw new GuestMemoryException("page " + page + " is in no region");
    }

    private void checkPage(long first, long count) {
        if (first < 0 || count < 0 || first > pageCount() - count) {
            throw new GuestMemoryException("pages [" + first + ", +" + count + ") outside guest RAM of " + pageCount()
                    + " pages");
        }
    }

    /** Copies page {@code page} (mapping order) into {@code dst} at {@code offset}. */
    public void readPage(long page, byte[] dst, int offset) {
        checkPage(page, 1);
        mapping.read(page * PAGE_SIZE, dst, offset, (int) PAGE_SIZE);
    }

    /**
     * A read-only little-endian view of {@code count} pages from page {@code first} (mapping
     * order), for reading guest RAM in place (migration tests pages for zeros there and copies only
     * the others). Valid until {@link #close()}.
     */
    public ByteBuffer pageView(long first, int count) {
        checkPage(first, count);
        if (count > Integer.MAX_VALUE / PAGE_SIZE) {
            throw new GuestMemoryException("a view of " + count + " pages is over 2 GiB");
        }
        return mapping.buffer(first * PAGE_SIZE, (int) (count * PAGE_SIZE)).asReadOnlyBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Finds, among {@code count} pages from page {@code first} (mapping order), those that read as
     * zeros because nothing backs them in the host: never touched by the guest or the VMM, or
     * discarded since (see {@link HostMapping#findUnbacked}). Sets bit {@code i % 64} of
     * {@code bits[i / 64]} for each such page {@code first + i} and clears it for the others; the
     * others may hold anything, zeros included. Returns false where the host cannot tell (guest
     * RAM mapped from a file, or {@code /proc/self/pagemap} unreadable): then every page must be
     * read. The answer is as of the call: a page written after it is dirty.
     */
    public boolean findUnbackedPages(long first, int count, long[] bits) {
        checkPage(first, count);
        return mapping.findUnbacked(first * PAGE_SIZE, count, bits);
    }

    /** Overwrites page {@code page} (mapping order) with 4 KiB of {@code src} from {@code offset}. */
    public void writePage(long page, byte[] src, int offset) {
        checkPage(page, 1);
        mapping.write(page * PAGE_SIZE, src, offset, (int) PAGE_SIZE);
        noteWritten(page * PAGE_SIZE, PAGE_SIZE);
    }

    /** Gives {@code count} pages from {@code first} (mapping order) back to the host: they read as zeros. */
    public void discardPages(long first, long count) {
        checkPage(first, count);
        if (count > 0) {
            mapping.discard(first * PAGE_SIZE, count * PAGE_SIZE);
            noteWritten(first * PAGE_SIZE, count * PAGE_SIZE);
        }
    }

    /**
     * Starts recording the pages the VMM writes (see the class comment); a no-op when already
     * recording. Pages written before this call are not recorded.
     */
    public void startWriteTracking() {
        synchronized (mapping) {
            if (written == null) {
                written = new PageBitmap(pageCount());
            }
        }
    }

    /** The pages the VMM wrote since tracking started or since the last call, clearing them. */
    public DirtyPages takeWrittenPages() {
        PageBitmap w = written;
        return w == null ? DirtyPages.none(pageCount()) : w.take();
    }

    /** Stops recording; pages recorded and not taken are forgotten. */
    public void stopWriteTracking() {
        written = null;
    }

    /**
     * Records that the VMM wrote {@code [address, address + length)} through a raw view
     * ({@link #slice}, or {@link #hostAddress(GuestAddress, long)} given to a system call). Call it
     * after the write is complete, so that a page taken meanwhile is taken again.
     */
    public void markWritten(GuestAddress address, long length) {
        if (written != null && length > 0) {
            noteWritten(offsetOf(address, length), length);
        }
    }

    private void noteWritten(long offset, long length) {
        PageBitmap w = written;
        if (w != null && length > 0) {
            w.mark(offset, length);
        }
    }

    /** Bytes of guest RAM resident in host memory. */
    public long residentBytes() {
        return mapping.residentBytes(0, mapping.size());
    }

    /**
     * Where guest RAM is in host memory: resident, merged by KSM, mapped to the zero page.
     *
     * @throws MemoryAccountingException when the host hides page frame numbers (not root)
     */
    public PageFootprint footprint(HostPageFlags flags) {
        return flags.footprint(mapping.address(), mapping.size());
    }

    /** The host page frames behind guest RAM's resident pages: guests sharing a frame share memory. */
    public long[] hostFrames(HostPageFlags flags) {
        return flags.frames(mapping.address(), mapping.size());
    }

    /**
     * A little-endian direct buffer over guest RAM, for zero-copy I/O. The range must lie inside
     * one region. Valid until {@link #close()}. A caller that writes through it calls
     * {@link #markWritten} afterwards.
     */
    public ByteBuffer slice(GuestAddress address, int length) {
        return mapping.buffer(offsetOf(address, length), length);
    }

    @Override
    public void close() {
        mapping.close();
    }
}
