package io.stratus.agent.guest;

import io.stratus.agent.virt.ConsoleOutput;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jboss.logging.Logger;

/**
 * An instance's serial console output: the last {@code capacity} bytes, addressed by their offset
 * since the instance was first booted (offsets keep growing across reboots, so a reader never
 * sees the same byte twice), and live subscribers.
 */
public final class ConsoleLog implements ConsoleOutput {
    private static final Logger LOG = Logger.getLogger(ConsoleLog.class);
    /** A live reader; called on vCPU threads, so it must hand the bytes off quickly. */
    public interface Subscriber {
        void output(long offset, byte[] bytes);

        /** The instance is gone: no more output will come. */
        default void closed() {
        }
    }

    /** Bytes from {@code offset}; {@code offset} is larger than asked when older bytes were dropped. */
    public record Chunk(long offset, byte[] bytes) {
    }

    private final byte[] ring;
    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private long written;
    private boolean closed;

    public ConsoleLog(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("console buffer must hold at least one byte");
        }
        this.ring = new byte[capacity];
    }

    /** Subscribers hear each write under the lock, so {@link #subscribe} can hand over without gap or overlap. */
    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
        long start = written;
        for (int i = 0; i < length; i++) {
            ring[(int) ((written + i) % ring.length)] = bytes[offset + i];
        }
        written += length;
        if (!subscribers.isEmpty()) {
            byte[] copy = Arrays.copyOfRange(bytes, offset, offset + length);
            for (Subscriber s : subscribers) {
                try {
                    s.output(start, copy);
                } catch (RuntimeException e) {
                    // The writer is the guest's console (a vCPU thread, or the thread reading QEMU's
                    // socket): a reader whose call broke loses its subscription, never the console.
                    LOG.debugf(e, "console reader dropped: %s", e.getMessage());
                    subscribers.remove(s);
                }
            }
        }
    }

    /** The last {@code maxBytes} bytes still held. */
    public synchronized Chunk tail(int maxBytes) {
        long held = Math.min(written, ring.length);
        long from = written - Math.min(held, Math.max(0, maxBytes));
        byte[] out = new byte[(int) (written - from)];
        for (int i = 0; i < out.length; i++) {
            out[i] = ring[(int) ((from + i) % ring.length)];
        }
        return new Chunk(from, out);
    }

    /** Everything held, as text (tests and console-output requests). */
    public String text() {
        return new String(tail(ring.length).bytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * Hands the subscriber the held tail (up to {@code tailBytes}), then live output: one step, so
     * that no byte falls between the tail and the first live chunk, and none comes twice.
     */
    public synchronized void subscribe(Subscriber subscriber, int tailBytes) {
        if (closed) {
            subscriber.closed();
            return;
        }
        Chunk held = tail(tailBytes);
        subscriber.output(held.offset(), held.bytes());
        subscribers.add(subscriber);
    }

    /** Tells every subscriber the output has ended. */
    public synchronized void close() {
        closed = true;
        for (Subscriber s : subscribers) {
            try {
                s.closed();
            } catch (RuntimeException e) {
                // Its call broke first: the others are still told.
                LOG.debugf(e, "console reader not told of the end: %s", e.getMessage());
            }
        }
        subscribers.clear();
    }

    public void unsubscribe(Subscriber subscriber) {
        subscribers.remove(subscriber);
    }

    public synchronized long written() {
        return written;
    }
}
