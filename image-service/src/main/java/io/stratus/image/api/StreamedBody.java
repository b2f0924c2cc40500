package io.stratus.image.api;

import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * A request body handed from the event loop to one blocking reader, with back-pressure: the
 * request is paused while more than {@code highWater} bytes wait and resumed when the reader has
 * taken them down to {@code lowWater}, so a client sends no faster than the reader (the disk)
 * takes its data, and at most about {@code highWater} bytes of it are ever in memory.
 */
final class StreamedBody {
    private final HttpServerRequest request;
    private final Context context;
    private final long highWater;
    private final long lowWater;
    private final ArrayDeque<Buffer> queue = new ArrayDeque<>();
    private long queued;
    private boolean paused;
    private boolean ended;
    private Throwable failure;
    private boolean discarding;

    /**
     * Takes over {@code request}'s handlers at once, so that a client that goes away is noticed
     * however early; call on its event loop with the request paused. Nothing is read before
     * {@link #start}.
     */
    StreamedBody(HttpServerRequest request, Context context, long highWater, long lowWater) {
        this.request = request;
        this.context = context;
        this.highWater = highWater;
        this.lowWater = lowWater;
        request.handler(this::arrived);
        request.endHandler(v -> finish(null));
        request.exceptionHandler(this::finish);
        request.connection().closeHandler(v -> finish(new IOException("the client closed the connection")));
    }

    /** Starts reading the body; on the request's event loop. */
    void start() {
        request.resume();
    }

    private synchronized void arrived(Buffer data) {
        if (discarding) {
            return;
        }
        queue.add(data);
        queued += data.length();
        if (queued > highWater && !paused) {
            paused = true;
            request.pause();
        }
        notifyAll();
    }

    private synchronized void finish(Throwable failed) {
        if (!ended && failure == null) {
            if (failed == null) {
                ended = true;
            } else {
                failure = failed;
            }
        }
        notifyAll();
    }

    /**
     * The next piece of the body, or null at its end. Blocks, at most {@code idleMillis}.
     *
     * @throws IOException the client went away, or sent nothing for {@code idleMillis}
     */
    synchronized Buffer take(long idleMillis) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + idleMillis;
        while (queue.isEmpty() && !ended && failure == null) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new IOException("the client sent nothing for " + idleMillis / 1000 + " s");
            }
            wait(left);
        }
        if (failure != null) {
            throw failure instanceof IOException io ? io : new IOException(failure.getMessage(), failure);
        }
        Buffer next = queue.poll();
        if (next == null) {
            return null;
        }
        queued -= next.length();
        if (paused && queued <= lowWater) {
            paused = false;
            context.runOnContext(v -> request.resume());
        }
        return next;
    }

    /**
     * Reads the rest of the body into nothing, on the request's event loop. A refused client may
     * still be sending; closing the connection on unread data would reset it and could destroy
     * the answer before the client reads it, so the data is drained (in constant memory) until
     * the body ends or the connection is closed.
     */
    void discard() {
        synchronized (this) {
            discarding = true;
            queue.clear();
            queued = 0;
            paused = false;
        }
        request.resume();
    }
}
