package io.stratus.kvm.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Zero-page detection for migration against a byte-for-byte scan, on every kind of page. */
class ZeroPageScanTest {
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;
    /** Four scan windows and a bit. */
    private static final long RAM = 4L * ZeroPageScan.WINDOW * PAGE + (1L << 20);

    /**
     * A memory holding every kind of page: never touched, written with zeros, read only (the
     * host's zero page), written with data (a single non-zero byte first, last or in between; random
     * pages), and written and then discarded. Fills in the pages that hold something backed by the
     * host ({@code touched}) and those that hold data ({@code data}).
     */
    private static GuestMemory mixedMemory(BitSet touched, BitSet data) {
        GuestMemory m = GuestMemory.x86(RAM, false);
        // Written with zeros: resident pages that read as zeros.
        m.fill(GuestAddress.of(2L << 20), 1L << 20, (byte) 0);
        touched.set(512, 768);
        // Read only: mapped to the host's zero page.
        for (long a = 5L << 20; a < (6L << 20); a += PAGE) {
            m.readByte(GuestAddress.of(a));
        }
        touched.set(1280, 1536);
        // One non-zero byte at the start, at the end, in the middle of its page.
        m.writeByte(GuestAddress.of((7L << 20)), (byte) 1);
        m.writeByte(GuestAddress.of((7L << 20) + 2 * PAGE - 1), (byte) 0x80);
        m.writeByte(GuestAddress.of((7L << 20) + 2 * PAGE + 1234), (byte) 0x10);
        touched.set(1792, 1795);
        data.set(1792, 1795);
        // Random pages, scattered over the other windows.
        Random random = new Random(7);
        byte[] noise = new byte[PAGE];
        for (int i = 0; i < 200; i++) {
            long page = ZeroPageScan.WINDOW + random.nextInt((int) (RAM / PAGE) - ZeroPageScan.WINDOW);
            random.nextBytes(noise);
            noise[0] = 1;
            m.write(GuestAddress.of(page * PAGE), noise);
            touched.set((int) page);
            data.set((int) page);
        }
        // Written, then given back (a balloon): reads as zeros, and nothing backs it any more.
        m.fill(GuestAddress.of(9L << 20), 2L << 20, (byte) 0x77);
        m.discard(GuestAddress.of(9L << 20), 2L << 20);
        touched.clear(2304, 2816);
        return m;
    }

    /** What a copy of each page and a look at every byte say: the reference. */
    private static BitSet zeroPagesByByteScan(GuestMemory m) {
        BitSet zero = new BitSet();
        byte[] page = new byte[PAGE];
        for (long p = 0; p < m.pageCount(); p++) {
            m.readPage(p, page, 0);
            boolean allZero = true;
            for (byte b : page) {
                allZero &= b == 0;
            }
            zero.set((int) p, allZero);
        }
        return zero;
    }

    private static BitSet zeroPagesByScan(GuestMemory m, DirtyPages pages, ZeroPageScan scan) {
        BitSet zero = new BitSet();
        for (long p = pages.next(0); p >= 0; p = pages.next(p + 1)) {
            zero.set((int) p, scan.isZero(p, pages));
        }
        return zero;
    }

    @Test
    void agreesWithAByteScanOnUntouchedZeroDataAndDiscardedPages() {
        BitSet touched = new BitSet();
        BitSet data = new BitSet();
        try (GuestMemory m = mixedMemory(touched, data)) {
            long residentBefore = m.residentBytes();
            ZeroPageScan scan = new ZeroPageScan(m);
            BitSet scanned = zeroPagesByScan(m, DirtyPages.all(m.pageCount()), scan);
            // The pass over all of RAM faulted nothing in: untouched pages were never read.
            assertThat(m.residentBytes()).isEqualTo(residentBefore);
            BitSet reference = zeroPagesByByteScan(m);
            assertThat(scanned).isEqualTo(reference);
            BitSet zero = new BitSet();
            zero.set(0, (int) m.pageCount());
            zero.andNot(data);
            assertThat(reference).as("the memory holds what it was meant to").isEqualTo(zero);
        }
    }

    @Test
    void findsNeverTouchedAndDiscardedPagesWithoutReadingThem() {
        BitSet touched = new BitSet();
        BitSet data = new BitSet();
        try (GuestMemory m = mixedMemory(touched, data)) {
            assumeThat(m.findUnbackedPages(0, 1, new long[1])).as("/proc/self/pagemap is readable").isTrue();
            ZeroPageScan scan = new ZeroPageScan(m);
            zeroPagesByScan(m, DirtyPages.all(m.pageCount()), scan);
            // Exactly the pages nothing backs: all but the ones written or read and not discarded.
            assertThat(scan.unbackedPages()).isEqualTo(m.pageCount() - touched.cardinality());
            long[] bits = new long[ZeroPageScan.WINDOW / 64];
            assertThat(m.findUnbackedPages(0, ZeroPageScan.WINDOW, bits)).isTrue();
            BitSet unbacked = BitSet.valueOf(bits);
            BitSet expected = new BitSet();
            expected.set(0, ZeroPageScan.WINDOW);
            expected.andNot(touched);
            assertThat(unbacked).isEqualTo(expected);
        }
    }

    @Test
    void sparsePagesAreReadInPlaceAndAgreeToo() {
        BitSet touched = new BitSet();
        BitSet data = new BitSet();
        try (GuestMemory m = mixedMemory(touched, data)) {
            long[] few = new long[(int) ((m.pageCount() + 63) / 64)];
            for (long p : new long[] {0, 600, 1300, 1792, 1793, 1794, 2400, m.pageCount() - 1}) {
                few[(int) (p / 64)] |= 1L << p;
            }
            DirtyPages pages = DirtyPages.ofBitmap(m.pageCount(), 0, few, m.pageCount());
            ZeroPageScan scan = new ZeroPageScan(m);
            BitSet scanned = zeroPagesByScan(m, pages, scan);
            assertThat(scan.unbackedPages()).as("too few pages per window to ask the host").isZero();
            BitSet reference = zeroPagesByByteScan(m);
            for (long p = pages.next(0); p >= 0; p = pages.next(p + 1)) {
                assertThat(scanned.get((int) p)).as("page %d", p).isEqualTo(reference.get((int) p));
            }
        }
    }

    @Test
    void pagesOfAMappedMemoryFileAreReadNotAssumedZero(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("memory.bin");
        try (GuestMemory m = GuestMemory.x86(RAM, false)) {
            m.fill(GuestAddress.of(1L << 20), 4L << 20, (byte) 9);
            m.saveTo(image);
        }
        // Restored: nothing is resident yet, but the file's pages are not zeros.
        try (GuestMemory m = GuestMemory.x86FromFile(image, RAM, false)) {
            m.discard(GuestAddress.of(2L << 20), 1L << 20);
            assertThat(m.findUnbackedPages(0, ZeroPageScan.WINDOW, new long[ZeroPageScan.WINDOW / 64])).isFalse();
            ZeroPageScan scan = new ZeroPageScan(m);
            BitSet scanned = zeroPagesByScan(m, DirtyPages.all(m.pageCount()), scan);
            assertThat(scan.unbackedPages()).isZero();
            BitSet reference = zeroPagesByByteScan(m);
            assertThat(scanned).isEqualTo(reference);
            assertThat(reference.get(256)).isFalse();
            assertThat(reference.get(512)).isTrue();
            assertThat(reference.get(768)).isFalse();
        }
    }

    @Test
    void sendingAnUntouchedMemoryLeavesItUntouched() throws Exception {
        try (GuestMemory m = GuestMemory.x86(RAM, false)) {
            assumeThat(m.findUnbackedPages(0, 1, new long[1])).as("/proc/self/pagemap is readable").isTrue();
            m.writeLong(GuestAddress.of(3L << 20), 42);
            long resident = m.residentBytes();
            PageSender sender = new PageSender(m,
                    new FrameWriter(Channels.newChannel(OutputStream.nullOutputStream()), OptionalLong.empty()), false);
            sender.send(DirtyPages.all(m.pageCount()));
            sender.close();
            assertThat(sender.pagesSent()).isEqualTo(1);
            assertThat(sender.zeroPages()).isEqualTo(m.pageCount() - 1);
            assertThat(sender.unbackedPages()).isEqualTo(m.pageCount() - 1);
            assertThat(m.residentBytes()).isEqualTo(resident);
        }
    }
}
