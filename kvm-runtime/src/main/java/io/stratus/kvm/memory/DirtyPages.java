package io.stratus.kvm.memory;

import java.util.BitSet;

/**
 * The guest pages written in one round of dirty-page tracking: a set of page numbers in guest
 * RAM's mapping order (page {@code n} is the 4 KiB at mapping offset {@code n * 4096}; see
 * {@link GuestMemory#pageAddress}). Immutable.
 */
public final class DirtyPages {
    private final long pageCount;
    private final BitSet pages;

    private DirtyPages(long pageCount, BitSet pages) {
        this.pageCount = pageCount;
        this.pages = pages;
    }

    /** No page of a memory of {@code pageCount} pages. */
    public static DirtyPages none(long pageCount) {
        return new DirtyPages(checkedCount(pageCount), new BitSet());
    }

    /** Every page of a memory of {@code pageCount} pages. */
    public static DirtyPages all(long pageCount) {
        BitSet b = new BitSet();
        b.set(0, (int) checkedCount(pageCount));
        return new DirtyPages(pageCount, b);
    }

    /**
     * The pages whose bits are set in {@code bitmap} (bit {@code i % 64} of word {@code i / 64}
     * for page {@code firstPage + i}, as {@code KVM_GET_DIRTY_LOG} returns them), of a memory of
     * {@code pageCount} pages; bits past {@code bitmapPages} are ignored.
     */
    public static DirtyPages ofBitmap(long pageCount, long firstPage, long[] bitmap, long bitmapPages) {
        checkedCount(pageCount);
        if (firstPage < 0 || bitmapPages < 0 || firstPage > pageCount - bitmapPages) {
            throw new IllegalArgumentException("bitmap of " + bitmapPages + " pages at page " + firstPage
                    + " is outside a memory of " + pageCount + " pages");
        }
        BitSet b = new BitSet();
        BitSet raw = BitSet.valueOf(bitmap);
        for (int i = raw.nextSetBit(0); i >= 0 && i < bitmapPages; i = raw.nextSetBit(i + 1)) {
            b.set((int) (firstPage + i));
        }
        return new DirtyPages(pageCount, b);
    }

    private static long checkedCount(long pageCount) {
        if (pageCount < 0 || pageCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a memory of " + pageCount + " pages");
        }
        return pageCount;
    }

    /** Pages of the memory these pages belong to (dirty or not). */
    public long pageCount() {
        return pageCount;
    }

    /** How many pages are dirty. */
    public long count() {
        return pages.cardinality();
    }

    public boolean isEmpty() {
        return pages.isEmpty();
    }

    public boolean contains(long page) {
        return page >= 0 && page < pageCount && pages.get((int) page);
    }

    /** The first dirty page at or after {@code from}, or -1 when there is none. */
    public long next(long from) {
        if (from >= pageCount) {
            return -1;
        }
        return pages.nextSetBit((int) Math.max(0, from));
    }

    /** The pages dirty in either. */
    public DirtyPages union(DirtyPages other) {
        if (other.pageCount != pageCount) {
            throw new IllegalArgumentException("dirty pages of memories of " + pageCount + " and "
                    + other.pageCount + " pages");
        }
        BitSet b = (BitSet) pages.clone();
        b.or(other.pages);
        return new DirtyPages(pageCount, b);
    }

    @Override
    public String toString() {
        return count() + " of " + pageCount + " pages dirty";
    }
}
