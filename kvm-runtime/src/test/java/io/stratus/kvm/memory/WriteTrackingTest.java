package io.stratus.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The VMM-side dirty log: pages the VMM writes into guest RAM, which KVM's dirty log never sees. */
class WriteTrackingTest {
    private static final long PAGE = GuestMemory.PAGE_SIZE;

    private static long[] pages(DirtyPages d) {
        long[] out = new long[(int) d.count()];
        int i = 0;
        for (long p = d.next(0); p >= 0; p = d.next(p + 1)) {
            out[i++] = p;
        }
        return out;
    }

    @Test
    void recordsNothingUntilTrackingStarts() {
        try (GuestMemory m = GuestMemory.x86(16L << 20, false)) {
            m.writeLong(GuestAddress.of(0x5000), 1);
            m.startWriteTracking();
            assertThat(m.takeWrittenPages().isEmpty()).isTrue();
        }
    }

    @Test
    void everyWritePathMarksTheExactPagesItTouches() {
        try (GuestMemory m = GuestMemory.x86(16L << 20, false)) {
            m.startWriteTracking();
            m.writeByte(GuestAddress.of(3 * PAGE), (byte) 1);
            m.writeShort(GuestAddress.of(5 * PAGE + 10), (short) 1);
            m.writeInt(GuestAddress.of(7 * PAGE - 2), 1); // straddles pages 6 and 7
            m.writeLong(GuestAddress.of(9 * PAGE), 1);
            m.write(GuestAddress.of(100 * PAGE + 4000), new byte[200]); // pages 100 and 101
            m.fill(GuestAddress.of(200 * PAGE), 3 * PAGE, (byte) 0); // 200..202
            m.discard(GuestAddress.of(300 * PAGE), PAGE);
            m.markWritten(GuestAddress.of(400 * PAGE + 1), 1);
            m.writePage(500, new byte[(int) PAGE], 0);
            m.discardPages(600, 2);
            assertThat(pages(m.takeWrittenPages())).containsExactly(3, 5, 6, 7, 9, 100, 101, 200, 201, 202, 300,
                    400, 500, 600, 601);
            assertThat(m.takeWrittenPages().isEmpty()).as("taking clears").isTrue();
        }
    }

    @Test
    void marksRangesAcrossBitmapWordsAndUpToTheLastPage() {
        long ram = 16L << 20;
        try (GuestMemory m = GuestMemory.x86(ram, false)) {
            m.startWriteTracking();
            m.fill(GuestAddress.of(60 * PAGE), 70 * PAGE, (byte) 1); // pages 60..129, three bitmap words
            m.writeByte(GuestAddress.of(ram - 1), (byte) 1);
            DirtyPages d = m.takeWrittenPages();
            assertThat(d.count()).isEqualTo(71);
            assertThat(d.contains(59)).isFalse();
            assertThat(d.contains(60)).isTrue();
            assertThat(d.contains(129)).isTrue();
            assertThat(d.contains(130)).isFalse();
            assertThat(d.contains(ram / PAGE - 1)).isTrue();
            assertThat(d.pageCount()).isEqualTo(ram / PAGE);
        }
    }

    @Test
    void stoppingForgetsAndRecordsNoMore() {
        try (GuestMemory m = GuestMemory.x86(16L << 20, false)) {
            m.startWriteTracking();
            m.writeInt(GuestAddress.of(0x1000), 1);
            m.stopWriteTracking();
            m.writeInt(GuestAddress.of(0x2000), 1);
            assertThat(m.takeWrittenPages().isEmpty()).isTrue();
        }
    }

    @Test
    void pagesAreNumberedInMappingOrderAcrossTheMmioHole() {
        long ram = (3L << 30) + (1L << 20);
        try (GuestMemory m = GuestMemory.x86(ram, false)) {
            long low = GuestMemory.MMIO_GAP_START / PAGE;
            assertThat(m.pageCount()).isEqualTo(ram / PAGE);
            assertThat(m.pageAddress(low - 1)).isEqualTo(GuestAddress.of(GuestMemory.MMIO_GAP_START - PAGE));
            assertThat(m.pageAddress(low)).isEqualTo(GuestAddress.of(GuestMemory.MMIO_GAP_END));
            m.startWriteTracking();
            m.writeInt(GuestAddress.of(GuestMemory.MMIO_GAP_END + PAGE), 1);
            assertThat(pages(m.takeWrittenPages())).containsExactly(low + 1);
        }
    }

    @Test
    void dirtyPagesFromKvmBitmapsLandAtTheirSlotsFirstPage() {
        // Bits past the slot's 130 pages (KVM rounds the bitmap up to whole words) are not pages.
        DirtyPages d = DirtyPages.ofBitmap(1000, 500, new long[] {0b101L, 1L << 63, -1L}, 130);
        assertThat(pages(d)).containsExactly(500, 502, 627, 628, 629);
        assertThat(d.union(DirtyPages.ofBitmap(1000, 0, new long[] {1}, 64)).count()).isEqualTo(6);
        assertThat(DirtyPages.all(10).count()).isEqualTo(10);
        assertThat(DirtyPages.none(10).next(0)).isEqualTo(-1);
    }
}
