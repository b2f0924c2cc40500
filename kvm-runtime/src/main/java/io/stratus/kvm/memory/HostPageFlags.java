package io.stratus.kvm.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads which host pages back a range of this process's memory and what kind they are:
 * {@code /proc/self/pagemap} gives each virtual page's page frame number, {@code /proc/kpageflags}
 * that frame's flags (KSM, zero page). Both need CAP_SYS_ADMIN: without it the kernel reports
 * every frame number as 0, which this class refuses rather than miscounting.
 */
public final class HostPageFlags {
    static final int PAGE = 4096;
    private static final long PRESENT = 1L << 63;
    private static final long PFN_MASK = (1L << 55) - 1;
    static final long KPF_KSM = 1L << 21;
    static final long KPF_ZERO_PAGE = 1L << 24;
    /** Frame numbers this close together are read from kpageflags in one call. */
    private static final int FLAG_WINDOW = 4096;

    private final Path pagemap;
    private final Path kpageflags;

    HostPageFlags(Path pagemap, Path kpageflags) {
        this.pagemap = pagemap;
        this.kpageflags = kpageflags;
    }

    /** This process's pages, as the running kernel reports them. */
    public static HostPageFlags ofThisProcess() {
        return new HostPageFlags(Path.of("/proc/self/pagemap"), Path.of("/proc/kpageflags"));
    }

    /** Another process's pages (for comparing with other VMMs). */
    public static HostPageFlags ofProcess(long pid) {
        return new HostPageFlags(Path.of("/proc", Long.toString(pid), "pagemap"), Path.of("/proc/kpageflags"));
    }

    /**
     * The host page frames backing the present pages of {@code [address, address + length)}, in
     * address order: two ranges that share a frame (KSM) share host memory.
     *
     * @throws MemoryAccountingException when the kernel hides frame numbers
     */
    public long[] frames(long address, long length) {
        if (address % PAGE != 0 || length % PAGE != 0 || length < 0) {
            throw new IllegalArgumentException("range " + Long.toHexString(address) + " +" + length
                    + " is not page-aligned");
        }
        long[] frames = presentFrames(address, length / PAGE);
        for (long f : frames) {
            if (f != 0) {
                return frames;
            }
        }
        if (frames.length > 0) {
            throw new MemoryAccountingException(pagemap + " hides page frame numbers: "
                    + "page accounting needs CAP_SYS_ADMIN (run the VMM as root)");
        }
        return frames;
    }

    /**
     * The footprint of {@code [address, address + length)} of this process's address space.
     *
     * @throws MemoryAccountingException when the kernel hides frame numbers or flags
     */
    public PageFootprint footprint(long address, long length) {
        long[] frames = frames(address, length);
        long resident = frames.length;
        if (resident == 0) {
            return new PageFootprint(length, 0, 0, 0);
        }
        Arrays.sort(frames);
        long ksm = 0;
        long zero = 0;
        try (FileChannel flags = FileChannel.open(kpageflags, StandardOpenOption.READ)) {
            // Heap buffers: a direct buffer per call would hold native memory until a GC that a
            // process polling footprints (and allocating little else) may not run for a long time.
            ByteBuffer window = ByteBuffer.allocate(FLAG_WINDOW * 8).order(ByteOrder.nativeOrder());
            int i = 0;
            while (i < frames.length) {
                long first = frames[i];
                int j = i;
                while (j < frames.length && frames[j] - first < FLAG_WINDOW) {
                    j++;
                }
                int span = (int) (frames[j - 1] - first + 1);
                readFully(flags, window, first * 8, span * 8);
                for (int k = i; k < j; k++) {
                    long f = window.getLong((int) (frames[k] - first) * 8);
                    if ((f & KPF_ZERO_PAGE) != 0) {
                        zero++;
                    } else if ((f & KPF_KSM) != 0) {
                        ksm++;
                    }
                }
                i = j;
            }
        } catch (IOException e) {
            throw new MemoryAccountingException("cannot read " + kpageflags + ": " + e.getMessage()
                    + " (KSM accounting needs root and a kernel with CONFIG_PROC_PAGE_MONITOR)", e);
        }
        return new PageFootprint(length, resident * PAGE, ksm * PAGE, zero * PAGE);
    }

    /** The frame numbers of the present pages among {@code pages} pages from {@code address}. */
    private long[] presentFrames(long address, long pages) {
        long[] out = new long[(int) Math.min(pages, 1 << 20)];
        int n = 0;
        final int chunk = 1 << 16;
        ByteBuffer buf = ByteBuffer.allocate(chunk * 8).order(ByteOrder.nativeOrder());
        try (FileChannel map = FileChannel.open(pagemap, StandardOpenOption.READ)) {
            for (long done = 0; done < pages; done += chunk) {
                int count = (int) Math.min(chunk, pages - done);
                readFully(map, buf, (address / PAGE + done) * 8, count * 8);
                for (int k = 0; k < count; k++) {
                    long entry = buf.getLong(k * 8);
                    if ((entry & PRESENT) != 0) {
                        if (n == out.length) {
                            out = Arrays.copyOf(out, (int) Math.min(pages, (long) out.length * 2));
                        }
                        out[n++] = entry & PFN_MASK;
                    }
                }
            }
        } catch (IOException e) {
            throw new MemoryAccountingException("cannot read " + pagemap + ": " + e.getMessage(), e);
        }
        return Arrays.copyOf(out, n);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, int length) throws IOException {
        buf.clear().limit(length);
        long at = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, at);
            if (r < 0) {
                throw new IOException("short read at offset " + at);
            }
            at += r;
        }
    }
}
