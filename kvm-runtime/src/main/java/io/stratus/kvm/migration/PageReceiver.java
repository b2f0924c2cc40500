package io.stratus.kvm.migration;

import io.stratus.kvm.memory.GuestMemory;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Applies PAGES payloads to the target's guest RAM, as hostile input: every page number and run is
 * checked against the memory's page count, every deflated page must inflate to exactly one page,
 * and nothing is allocated per entry. Also remembers which pages arrived, so that the switch-over
 * can refuse a stream that never sent some page.
 */
final class PageReceiver {
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;

    private final GuestMemory memory;
    private final long pageCount;
    private final BitSet seen = new BitSet();
    private final Inflater inflater = new Inflater(true);
    private final byte[] page = new byte[PAGE];
    private final byte[] compressed = new byte[PAGE];
    private long pagesReceived;
    private long zeroPages;

    PageReceiver(GuestMemory memory) {
        this.memory = memory;
        this.pageCount = memory.pageCount();
    }

    long pagesReceived() {
        return pagesReceived;
    }

    long zeroPages() {
        return zeroPages;
    }

    /** Whether every page of guest RAM arrived at least once. */
    boolean complete() {
        return seen.nextClearBit(0) >= pageCount;
    }

    /** The first page that never arrived, or -1. */
    long firstMissing() {
        int p = seen.nextClearBit(0);
        return p >= pageCount ? -1 : p;
    }

    /** Applies one PAGES payload. */
    void apply(ByteBuffer payload) {
        try {
            while (payload.hasRemaining()) {
                int kind = payload.get() & 0xff;
                long p = payload.getLong();
                switch (kind) {
                    case Frame.PAGE_RAW -> {
                        checkPages(p, 1);
                        payload.get(page);
                        memory.writePage(p, page, 0);
                        mark(p, 1);
                        pagesReceived++;
                    }
                    case Frame.PAGE_DEFLATED -> {
                        checkPages(p, 1);
                        int n = payload.getShort() & 0xffff;
                        if (n == 0 || n > PAGE) {
                            throw malformed("deflated page " + p + " of " + n + " bytes");
                        }
                        payload.get(compressed, 0, n);
                        inflate(p, n);
                        memory.writePage(p, page, 0);
                        mark(p, 1);
                        pagesReceived++;
                    }
                    case Frame.PAGE_ZERO_RUN -> {
                        long count = payload.getInt() & 0xffffffffL;
                        if (count == 0) {
                            throw malformed("an empty zero run at page " + p);
                        }
                        checkPages(p, count);
                        memory.discardPages(p, count);
                        mark(p, count);
                        zeroPages += count;
                    }
                    default -> throw malformed("unknown page entry kind " + kind);
                }
            }
        } catch (BufferUnderflowException e) {
            throw malformed("a page entry is cut short by the end of its frame");
        }
    }

    private void inflate(long p, int n) {
        inflater.reset();
        inflater.setInput(compressed, 0, n);
        try {
            int got = inflater.inflate(page, 0, PAGE);
            if (got != PAGE || !inflater.finished() || inflater.getRemaining() != 0) {
                throw malformed("deflated page " + p + " does not inflate to exactly one page");
            }
        } catch (DataFormatException e) {
            throw malformed("deflated page " + p + " is corrupt: " + e.getMessage());
        }
    }

    private void checkPages(long first, long count) {
        if (first < 0 || first >= pageCount || count > pageCount - first) {
            throw malformed("pages [" + first + ", +" + count + ") are outside guest RAM of " + pageCount + " pages");
        }
    }

    private void mark(long first, long count) {
        seen.set((int) first, (int) (first + count));
    }

    private static MigrationException malformed(String what) {
        return new MigrationException("malformed migration stream from the source: " + what);
    }

    void close() {
        inflater.end();
    }
}
