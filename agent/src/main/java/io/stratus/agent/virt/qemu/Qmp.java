package io.stratus.agent.virt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.agent.virt.HypervisorException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A client of QEMU's machine protocol (QMP) on its Unix socket: one JSON object a line, commands
 * answered by id, asynchronous events in between. Written here rather than taken from a library:
 * QMP over a socket is a few dozen lines, and the Java QMP clients on Maven Central are unkept.
 */
final class Qmp implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration ANSWER_WAIT = Duration.ofSeconds(30);

    private final SocketChannel channel;
    private final Lines in;
    private final Object writing = new Object();
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Thread reader;
    /**
     * Writes commands: a socket channel written by a thread that is interrupted (a move's abort
     * interrupts its migration thread) closes for good, and this guest's monitor with it. The
     * caller's interrupt reaches only its wait for the answer.
     */
    private final ExecutorService writer;

    private Qmp(SocketChannel channel, Consumer<JsonNode> events, String name) throws IOException {
        this.channel = channel;
        this.in = new Lines(channel);
        String greeting = in.readLine();
        if (greeting == null || !JSON.readTree(greeting).has("QMP")) {
            throw new IOException("no QMP greeting on the monitor socket: " + greeting);
        }
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name + "-qmp-write");
            t.setDaemon(true);
            return t;
        });
        this.reader = new Thread(() -> read(events), name + "-qmp");
        reader.setDaemon(true);
        reader.start();
    }

    /** Connects and leaves capabilities negotiation mode; events go to {@code events} on the reader thread. */
    static Qmp connect(Path socket, Consumer<JsonNode> events, String name) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            Qmp qmp = new Qmp(channel, events, name);
            qmp.execute("qmp_capabilities");
            return qmp;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private void read(Consumer<JsonNode> events) {
        try {
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode msg = JSON.readTree(line);
                if (msg.has("event")) {
                    events.accept(msg);
                } else if (msg.has("id")) {
                    CompletableFuture<JsonNode> answer = pending.remove(msg.get("id").asLong());
                    if (answer != null) {
                        answer.complete(msg);
                    }
                }
            }
        } catch (IOException e) {
            // The socket closed under us: the process ended, or close() was called.
        } finally {
            closed.complete(null);
            IOException gone = new IOException("the QEMU monitor closed its socket");
            pending.values().forEach(f -> f.completeExceptionally(gone));
        }
    }

    /** Runs a command without arguments; its {@code return} value. */
    JsonNode execute(String command) {
        return execute(command, null);
    }

    JsonNode execute(String command, ObjectNode arguments) {
        long id = ids.incrementAndGet();
        ObjectNode msg = JSON.createObjectNode().put("execute", command).put("id", id);
        if (arguments != null) {
            msg.set("arguments", arguments);
        }
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            ByteBuffer bytes = ByteBuffer.wrap((msg + "\n").getBytes(StandardCharsets.UTF_8));
            Future<?> sent = writer.submit(() -> {
                synchronized (writing) {
                    while (bytes.hasRemaining()) {
                        channel.write(bytes);
                    }
                }
                return null;
            });
            sent.get(ANSWER_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            JsonNode reply = answer.get(ANSWER_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (reply.has("error")) {
                throw new HypervisorException("HypervisorError", "QEMU refused " + command + ": "
                        + reply.get("error").path("desc").asText());
            }
            return reply.path("return");
        } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
            // Rejected: this monitor was closed, as a closed socket would refuse the write.
            throw new HypervisorException("HypervisorError", "QEMU did not answer " + command + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("HypervisorError", "interrupted waiting for QEMU to answer " + command, e);
        } finally {
            pending.remove(id);
        }
    }

    static ObjectNode arguments() {
        return JSON.createObjectNode();
    }

    /** Waits until the monitor's socket has closed (the process ended), up to {@code wait}. */
    boolean awaitClosed(Duration wait) throws InterruptedException {
        try {
            closed.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true;
        }
    }

    void awaitClosed() throws InterruptedException {
        try {
            closed.get();
        } catch (ExecutionException e) {
            // Completed either way.
        }
    }

    /**
     * Lines read straight from the channel: a stream from {@link java.nio.channels.Channels} would
     * hold the channel's blocking lock while it waits to read, and no command could be written.
     */
    private static final class Lines {
        private final SocketChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        Lines(SocketChannel channel) {
            this.channel = channel;
            buffer.flip();
        }

        /** The next line without its end, or null at the end of the stream. */
        String readLine() throws IOException {
            while (true) {
                while (buffer.hasRemaining()) {
                    byte b = buffer.get();
                    if (b == '\n') {
                        String text = line.toString(StandardCharsets.UTF_8);
                        line.reset();
                        return text;
                    }
                    line.write(b);
                }
                buffer.clear();
                int n = channel.read(buffer);
                buffer.flip();
                if (n < 0) {
                    return null;
                }
            }
        }
    }

    @Override
    public void close() {
        writer.shutdown();
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing more to do with a socket that does not close.
        }
    }
}
