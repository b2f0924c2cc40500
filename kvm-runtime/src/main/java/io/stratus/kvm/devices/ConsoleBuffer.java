package io.stratus.kvm.devices;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps the last {@code capacity} bytes of a console and forwards everything to another sink.
 * Threads can wait for output matching a pattern: tests wait for a guest's marker this way, and
 * a console log is served from it.
 */
public final class ConsoleBuffer implements ConsoleSink {
    private final int capacity;
    private final ConsoleSink next;
    private final byte[] ring;
    private long written;

    public ConsoleBuffer(int capacity, ConsoleSink next) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
        this.next = next;
        this.ring = new byte[capacity];
    }

    public ConsoleBuffer(int capacity) {
        this(capacity, ConsoleSink.discard());
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        synchronized (this) {
            boolean newline = false;
            for (int i = 0; i < length; i++) {
                ring[(int) ((written + i) % capacity)] = bytes[offset + i];
                newline |= bytes[offset + i] == '\n';
            }
            written += length;
            if (newline) {
                // Waiters match whole lines; waking them per byte would rescan the buffer per byte.
                notifyAll();
            }
        }
        next.write(bytes, offset, length);
    }

    /** Total bytes ever written. */
    public synchronized long totalBytes() {
        return written;
    }

    /** What is still held, oldest first, decoded as UTF-8. */
    public synchronized String text() {
        int held = (int) Math.min(written, capacity);
        byte[] out = new byte[held];
        long start = written - held;
        for (int i = 0; i < held; i++) {
            out[i] = ring[(int) ((start + i) % capacity)];
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /**
     * Waits until the held text matches {@code pattern} or {@code timeout} passes.
     *
     * @return the first match, or empty on timeout
     */
    public Optional<Matcher> await(Pattern pattern, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            long seen = -1;
            while (true) {
                if (seen != written) {
                    seen = written;
                    Matcher m = pattern.matcher(text());
                    if (m.find()) {
                        return Optional.of(m);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                wait(Math.max(1, Math.min(left / 1_000_000, 200)));
            }
        }
    }
}
