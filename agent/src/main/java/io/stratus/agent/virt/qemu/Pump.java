package io.stratus.agent.virt.qemu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Copies one direction of a migration tunnel on a thread of its own, from QEMU's migration socket
 * to the agents' stream or back, until the reading side ends; then {@code atEnd} runs (it passes
 * the end on). A failure on either side ends the copy and is kept for the driver to report.
 */
final class Pump {
    private static final int BUFFER = 256 << 10;

    /** What runs when the copy ends normally: pass the end of the stream on. */
    interface End {
        void run() throws IOException;
    }

    private final CountDownLatch done = new CountDownLatch(1);
    private volatile IOException failure;
    private volatile long bytes;

    private Pump() {
    }

    static Pump start(String name, ReadableByteChannel from, WritableByteChannel to, End atEnd,
                      Runnable onFailure) {
        Pump p = new Pump();
        Thread t = new Thread(() -> p.copy(from, to, atEnd, onFailure), name);
        t.setDaemon(true);
        t.start();
        return p;
    }

    private void copy(ReadableByteChannel from, WritableByteChannel to, End atEnd, Runnable onFailure) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        try {
            while (from.read(buffer) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    bytes += to.write(buffer);
                }
                buffer.clear();
            }
            atEnd.run();
        } catch (IOException e) {
            failure = e;
            onFailure.run();
        } catch (RuntimeException e) {
            failure = new IOException(e.getMessage(), e);
            onFailure.run();
        } finally {
            done.countDown();
        }
    }

    boolean ended() {
        return done.getCount() == 0;
    }

    /** Waits up to {@code millis} for the copy to end; whether it did. */
    boolean await(long millis) throws InterruptedException {
        return done.await(millis, TimeUnit.MILLISECONDS);
    }

    /** Why the copy failed; empty while it runs or when it ended normally. */
    Optional<IOException> failure() {
        return Optional.ofNullable(failure);
    }

    long bytes() {
        return bytes;
    }
}
