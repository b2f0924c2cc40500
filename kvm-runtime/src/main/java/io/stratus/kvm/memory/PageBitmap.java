package io.stratus.kvm.memory;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One bit per 4 KiB page of a host mapping, set from any thread without locks and taken (read and
 * cleared word by word) by the tracker: a bit set while {@link #take} runs lands either in this
 * take or in the next one, never nowhere.
 */
final class PageBitmap {
    private final long pageCount;
    private final AtomicLongArray words;

    PageBitmap(long pageCount) {
        this.pageCount = pageCount;
        this.words = new AtomicLongArray((int) ((pageCount + 63) / 64));
    }

    /** Marks the pages that {@code [offset, offset + length)} of the mapping touches. */
    void mark(long offset, long length) {
        long first = offset / GuestMemory.PAGE_SIZE;
        long last = (offset + length - 1) / GuestMemory.PAGE_SIZE;
        for (long page = first; page <= last; ) {
            int word = (int) (page >>> 6);
            long end = Math.min(last, (page | 63));
            int from = (int) (page & 63);
            int to = (int) (end & 63);
            long mask = to == 63 ? -1L << from : ((1L << (to + 1)) - 1) & (-1L << from);
            if ((words.get(word) & mask) != mask) {
                words.getAndAccumulate(word, mask, (a, b) -> a | b);
            }
            page = end + 1;
        }
    }

    /** The marked pages, clearing them. */
    DirtyPages take() {
        long[] out = new long[words.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = words.get(i) == 0 ? 0 : words.getAndSet(i, 0);
        }
        return DirtyPages.ofBitmap(pageCount, 0, out, pageCount);
    }
}
