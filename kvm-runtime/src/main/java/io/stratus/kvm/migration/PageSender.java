package io.stratus.kvm.migration;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.Deflater;

/**
 * Sends sets of guest pages as PAGES frames: a page of zeros as part of a zero run (a flag, never
 * data), any other page raw, or deflated where that makes it smaller. Pages are tested for zeros
 * in place ({@link ZeroPageScan}: pages the host has nothing behind are not even read), and only
 * the others are copied, into the frame (or, to deflate them, out of guest RAM first). A page the
 * guest changes meanwhile may go out as any mix of old and new: it is dirty again and goes out in
 * a later round, or at the switch-over with the guest paused.
 */
final class PageSender {
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;
    /** A deflated page is sent only if it saves at least this much. */
    private static final int MIN_SAVING = 256;
    private static final int MAX_RUN = Integer.MAX_VALUE;

    private final ZeroPageScan scan;
    private final FrameWriter out;
    private final Deflater deflater;
    private final ByteBuffer frame = ByteBuffer.allocate(Frame.MAX_PAGES_PAYLOAD);
    private final byte[] page = new byte[PAGE];
    private final byte[] deflated = new byte[PAGE];
    private long runStart = -1;
    private int runLength;
    private long pagesSent;
    private long zeroPages;

    PageSender(GuestMemory memory, FrameWriter out, boolean compress) {
        this.scan = new ZeroPageScan(memory);
        this.out = out;
        this.deflater = compress ? new Deflater(Deflater.BEST_SPEED, true) : null;
    }

    long pagesSent() {
        return pagesSent;
    }

    long zeroPages() {
        return zeroPages;
    }

    /** Zero pages sent without reading them: the host had nothing behind them. */
    long unbackedPages() {
        return scan.unbackedPages();
    }

    /** Sends every page in {@code pages}, then flushes the last frame. */
    void send(DirtyPages pages) throws IOException, InterruptedException {
        for (long p = pages.next(0); p >= 0; p = pages.next(p + 1)) {
            if (scan.isZero(p, pages)) {
                zeroPages++;
                if (runStart >= 0 && runStart + runLength == p && runLength < MAX_RUN) {
                    runLength++;
                } else {
                    endRun();
                    runStart = p;
                    runLength = 1;
                }
                continue;
            }
            endRun();
            room(1 + 8 + 2 + PAGE);
            ByteBuffer ram = scan.view(p);
            int at = scan.offset(p);
            if (deflater == null) {
                frame.put((byte) Frame.PAGE_RAW).putLong(p);
                frame.put(frame.position(), ram, at, PAGE).position(frame.position() + PAGE);
            } else {
                ram.get(at, page);
                int n = deflate();
                if (n > 0) {
                    frame.put((byte) Frame.PAGE_DEFLATED).putLong(p).putShort((short) n).put(deflated, 0, n);
                } else {
                    frame.put((byte) Frame.PAGE_RAW).putLong(p).put(page);
                }
            }
            pagesSent++;
        }
        endRun();
        flush();
    }

    /** Deflates {@code page} into {@code deflated}; returns its length, or 0 where that does not pay. */
    private int deflate() {
        deflater.reset();
        deflater.setInput(page);
        deflater.finish();
        int n = deflater.deflate(deflated, 0, PAGE - MIN_SAVING);
        return deflater.finished() ? n : 0;
    }

    private void endRun() throws IOException, InterruptedException {
        if (runStart >= 0) {
            room(1 + 8 + 4);
            frame.put((byte) Frame.PAGE_ZERO_RUN).putLong(runStart).putInt(runLength);
            runStart = -1;
            runLength = 0;
        }
    }

    private void room(int bytes) throws IOException, InterruptedException {
        if (frame.remaining() < bytes) {
            flush();
        }
    }

    private void flush() throws IOException, InterruptedException {
        if (frame.position() > 0) {
            out.write(Frame.Type.PAGES, frame.flip());
            frame.clear();
        }
    }

    /** Frees the compressor. */
    void close() {
        if (deflater != null) {
            deflater.end();
        }
    }
}
