package io.stratus.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A QEMU Machine Protocol client for the benchmarks: one command at a time, answers returned
 * as their JSON text (events in between are skipped). QEMU is started with
 * {@code -qmp unix:PATH,server=on,wait=off}.
 */
final class Qmp implements AutoCloseable {
    private final SocketChannel channel;
    private final BufferedReader in;
    private final OutputStream out;

    private Qmp(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.out = Channels.newOutputStream(channel);
    }

    /** Connects once QEMU has made the socket, and enters command mode. */
    static Qmp connect(Path socket, Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    Qmp q = new Qmp(ch);
                    q.in.readLine(); // the greeting
                    q.execute("qmp_capabilities");
                    return q;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            } else if (System.nanoTime() > deadline) {
                throw new IOException("QEMU made no QMP socket at " + socket + " within " + limit);
            }
            Thread.sleep(10);
        }
    }

    /** Runs {@code command} with {@code arguments} (a JSON object's text, or null) and returns its answer. */
    String execute(String command, String arguments) throws IOException {
        String request = "{\"execute\":\"" + command + "\"" + (arguments == null ? "" : ",\"arguments\":" + arguments)
                + "}\n";
        out.write(request.getBytes(StandardCharsets.UTF_8));
        out.flush();
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("QEMU closed QMP during " + command);
            }
            if (line.contains("\"event\"")) {
                continue;
            }
            if (line.contains("\"error\"")) {
                throw new IOException("QMP " + command + ": " + line);
            }
            return line;
        }
    }

    String execute(String command) throws IOException {
        return execute(command, null);
    }

    /** A number field of an answer, for example {@code "actual": 123}. */
    static long number(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\"\\s*:\\s*(-?\\d+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + field + " in " + json);
        }
        return Long.parseLong(m.group(1));
    }

    /** A string field of an answer, for example {@code "status": "completed"}. */
    static String string(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\"\\s*:\\s*\"([^\"]*)\"")
                .matcher(json);
        return m.find() ? m.group(1) : "";
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
