package io.stratus.kvm.memory;

import io.stratus.kvm.sys.HostMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
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
 */
public final class GuestMemory implements AutoCloseable {
    /** Start of the 1 GiB hole below 4 GiB that holds device MMIO (IOAPIC, LAPIC, virtio). */
    public static final long MMIO_GAP_START = 0xC000_0000L;
    /** First address above the MMIO hole. */
    public static final long MMIO_GAP_END = 0x1_0000_0000L;
    public static final long PAGE_SIZE = 4096;

    private final HostMapping mapping;
    private final List<GuestRegion> regions;

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
        mapping.putByte(offsetOf(address, 1), value);
    }

    public void writeShort(GuestAddress address, short value) {
        mapping.putShort(offsetOf(address, 2), value);
    }

    public void writeInt(GuestAddress address, int value) {
        mapping.putInt(offsetOf(address, 4), value);
    }

    public void writeLong(GuestAddress address, long value) {
        mapping.putLong(offsetOf(address, 8), value);
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
        mapping.write(offsetOf(address, length), src, offset, length);
    }

    /** Sets {@code length} bytes to {@code value}. */
    public void fill(GuestAddress address, long length, byte value) {
        mapping.fill(offsetOf(address, length), length, value);
    }

    /**
     * The host virtual address of {@code [address, address + length)}, which must lie in one RAM
     * region; for handing guest buffers to system calls (preadv/pwritev) without a copy.
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
        mapping.discard(offsetOf(address, length), length);
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
     * one region. Valid until {@link #close()}.
     */
    public ByteBuffer slice(GuestAddress address, int length) {
        return mapping.buffer(offsetOf(address, length), length);
    }

    @Override
    public void close() {
        mapping.close();
    }
}
