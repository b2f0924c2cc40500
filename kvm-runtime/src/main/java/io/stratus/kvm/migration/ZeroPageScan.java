package io.stratus.kvm.migration;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;

/**
 * Tells the zero pages of guest RAM from the others without copying them, a window of guest RAM
 * at a time (QEMU's {@code buffer_is_zero} in place, plus what the host knows). Where a window
 * holds many of the pages being sent (round 1 sends them all), the host is asked first which of
 * its pages nothing backs ({@link GuestMemory#findUnbackedPages}: never touched, or discarded):
 * those are zeros without being read, so the pass neither reads nor faults in memory the guest
 * never used. Every other page is read in place, up to its first non-zero word.
 *
 * <p>An answer is the page's content at some moment during the call: a page the guest or a device
 * writes afterwards is dirty and goes out again in a later round, as with a copy. Not thread-safe.
 */
final class ZeroPageScan {
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;
    /** Pages per window: 16 MiB of guest RAM, 32 KiB of pagemap entries. */
    static final int WINDOW = 4096;
    /**
     * A window with at least this many pages to send asks the host which of its pages are
     * unbacked (one pagemap read of the whole window); a sparser one reads its few pages in place.
     */
    static final int DENSE = 64;

    private final GuestMemory memory;
    private final long[] unbacked = new long[WINDOW / 64];
    private long windowFirst = -1;
    private int windowCount;
    private boolean unbackedKnown;
    private ByteBuffer view;
    private long unbackedPages;

    ZeroPageScan(GuestMemory memory) {
        this.memory = memory;
    }

    /** Zero pages found without reading them (the host had nothing behind them). */
    long unbackedPages() {
        return unbackedPages;
    }

    /**
     * Whether page {@code page} (mapping order) is all zeros; {@code sending} is the set of pages it
     * belongs to, whose density decides whether to ask the host about the page's window.
     */
    boolean isZero(long page, DirtyPages sending) {
        int i = enter(page, sending);
        if (unbackedKnown && (unbacked[i >>> 6] & (1L << i)) != 0) {
            unbackedPages++;
            return true;
        }
        return isZero(view, i * PAGE);
    }

    /** A read-only view of page {@code page}'s window, in which the page starts at {@link #offset}. */
    ByteBuffer view(long page) {
        enter(page, null);
        return view;
    }

    /** Where page {@code page} starts in {@link #view}. */
    int offset(long page) {
        return (int) (page - windowFirst) * PAGE;
    }

    /** Moves to the window of {@code page} (unless there already); returns the page's index in it. */
    private int enter(long page, DirtyPages sending) {
        if (page < windowFirst || page >= windowFirst + windowCount) {
            windowFirst = page / WINDOW * WINDOW;
            windowCount = (int) Math.min(WINDOW, memory.pageCount() - windowFirst);
            view = memory.pageView(windowFirst, windowCount);
            long end = windowFirst + windowCount;
            int dense = 0;
            if (sending != null) {
                for (long q = page; q >= 0 && q < end && dense < DENSE; q = sending.next(q + 1)) {
                    dense++;
                }
            }
            unbackedKnown = dense >= DENSE && memory.findUnbackedPages(windowFirst, windowCount, unbacked);
        }
        return (int) (page - windowFirst);
    }

    /** Whether the 4 KiB at {@code offset} of {@code ram} are zeros: read in place, 64 bytes a step. */
    static boolean isZero(ByteBuffer ram, int offset) {
        for (int i = offset; i < offset + PAGE; i += 64) {
            if ((ram.getLong(i) | ram.getLong(i + 8) | ram.getLong(i + 16) | ram.getLong(i + 24)
                    | ram.getLong(i + 32) | ram.getLong(i + 40) | ram.getLong(i + 48) | ram.getLong(i + 56)) != 0) {
                return false;
            }
        }
        return true;
    }
}
