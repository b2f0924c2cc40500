package io.stratus.agent.migration;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.CallStreamObserver;
import io.stratus.agent.virt.MigrationPipe;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A driver's migration stream over one gRPC bidirectional call, as the blocking
 * {@link ByteChannel} the driver's engine reads and writes.
 *
 * <p>Both directions are flow-controlled end to end: the writer waits while gRPC's outbound
 * buffer is full ({@code isReady}), and the reader asks the peer for the next message only when
 * it has taken the one before ({@code request(1)}; the call's automatic inbound requests are off),
 * so that a fast source never piles a round of guest memory up in the target's heap.
 *
 * <p>One thread writes and one reads (the engine's), gRPC's threads feed {@link #onChunk},
 * {@link #onEnd} and {@link #onReady}.
 *
 * @param <T> the outbound message type
 */
final class StreamChannel<T> implements MigrationPipe {
    /**
     * Largest chunk per message: under the 256 KiB a Vert.x gRPC server (the agents' shared port)
     * accepts per message by default, large enough to amortise the framing.
     */
    static final int CHUNK = 128 * 1024;
    private static final Object END = new Object();

    private final CallStreamObserver<T> out;
    private final Function<ByteString, T> wrap;
    private final Runnable requestNext;
    private final Duration stallLimit;
    private final BlockingQueue<Object> inbound = new LinkedBlockingQueue<>();
    private final Object readiness = new Object();
    private ByteBuffer current = ByteBuffer.allocate(0);
    private volatile boolean open = true;
    private volatile boolean outputEnded;
    private boolean ended;

    /**
     * @param out the call's outbound side, already started
     * @param wrap makes one outbound message of a chunk
     * @param requestNext asks the peer for one more message
     * @param stallLimit how long a read or write may wait for the peer before the channel fails
     */
    StreamChannel(CallStreamObserver<T> out, Function<ByteString, T> wrap, Runnable requestNext,
                  Duration stallLimit) {
        this.out = out;
        this.wrap = wrap;
        this.requestNext = requestNext;
        this.stallLimit = stallLimit;
    }

    /** A message's bytes arrived (gRPC thread). */
    void onChunk(ByteString bytes) {
        inbound.add(bytes);
    }

    /** The peer ended its side: normally ({@code error} null) or with an error (gRPC thread). */
    void onEnd(Throwable error) {
        inbound.add(error == null ? END : error);
        onReady();
    }

    /** gRPC's outbound buffer drained (gRPC thread). */
    void onReady() {
        synchronized (readiness) {
            readiness.notifyAll();
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!open) {
            throw new ClosedChannelException();
        }
        while (!current.hasRemaining()) {
            ByteString chunk = ended ? null : next();
            if (chunk == null) {
                return -1;
            }
            current = chunk.asReadOnlyByteBuffer();
            requestNext.run();
        }
        int n = Math.min(dst.remaining(), current.remaining());
        ByteBuffer slice = current.slice();
        slice.limit(n);
        dst.put(slice);
        current.position(current.position() + n);
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!open || outputEnded) {
            throw new ClosedChannelException();
        }
        int written = 0;
        while (src.hasRemaining()) {
            awaitReady();
            int n = Math.min(CHUNK, src.remaining());
            ByteBuffer part = src.slice();
            part.limit(n);
            ByteString chunk = ByteString.copyFrom(part);
            src.position(src.position() + n);
            try {
                out.onNext(wrap.apply(chunk));
            } catch (RuntimeException e) {
                throw new IOException("cannot send on the migration stream: " + describe(e), e);
            }
            written += n;
        }
        return written;
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + stallLimit.toNanos();
        synchronized (readiness) {
            while (!out.isReady()) {
                Object head = inbound.peek();
                if (head instanceof Throwable t) {
                    throw new IOException("the migration peer's stream failed while data was still to be sent: "
                            + describe(t), t);
                }
                if (ended || head == END) {
                    throw new IOException("the migration peer ended its stream while data was still to be sent");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("the migration peer took nothing for " + stallLimit.toSeconds() + " s");
                }
                try {
                    // Bounded: a readiness signal may come between isReady and wait.
                    readiness.wait(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 100));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while sending the migration stream");
                }
            }
        }
    }

    /**
     * Waits until the peer ends its side (reading, after {@link #close} of this side, while
     * nothing more is expected); fails if the peer sends data or fails instead.
     */
    @Override
    public void awaitPeerEnd() throws IOException {
        while (!ended) {
            if (next() != null) {
                ended = true;
                throw new IOException("the migration peer sent data where none was expected");
            }
        }
    }

    /** The peer's next chunk, waiting up to the stall limit; null once the peer has ended its side. */
    private ByteString next() throws IOException {
        Object next;
        try {
            next = inbound.poll(stallLimit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the migration peer");
        }
        if (next == null) {
            throw new IOException("the migration peer sent nothing for " + stallLimit.toSeconds() + " s");
        }
        if (next == END) {
            ended = true;
            return null;
        }
        if (next instanceof Throwable t) {
            ended = true;
            throw new IOException("the migration peer's stream failed: " + describe(t), t);
        }
        return (ByteString) next;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public synchronized void endOutput() {
        if (open && !outputEnded) {
            outputEnded = true;
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                // The call is already over: nothing more to end.
            }
        }
    }

    /** Ends this side of the call normally. */
    @Override
    public synchronized void close() {
        if (open) {
            endOutput();
            open = false;
        }
    }

    /** Ends this side of the call with {@code status}, so that the peer's engine stops at once. */
    synchronized void fail(Status status) {
        if (open) {
            open = false;
            if (!outputEnded) {
                outputEnded = true;
                try {
                    out.onError(status.asRuntimeException());
                } catch (RuntimeException e) {
                    // The call is already over.
                }
            }
        }
    }

    static String describe(Throwable t) {
        Status s = Status.fromThrowable(t);
        return s.getCode() == Status.Code.UNKNOWN && s.getDescription() == null ? String.valueOf(t.getMessage())
                : s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
}
