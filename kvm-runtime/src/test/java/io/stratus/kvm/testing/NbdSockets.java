package io.stratus.kvm.testing;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Waiting for a test's {@code qemu-nbd} on a Unix socket: its socket file appears when it binds,
 * before it listens, so a client that only waits for the file is sometimes refused.
 */
public final class NbdSockets {
    private NbdSockets() {
    }

    /**
     * Debian's {@code qemu-nbd} serving the raw {@code file} as export {@code vol} on the Unix
     * {@code socket} (with {@code options} more), its output in {@code log}; returned once it listens.
     */
    public static Process serveRaw(Path file, Path socket, Path log, String... options)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("qemu-nbd", "--persistent", "-f", "raw", "-x", "vol", "-k",
                socket.toString()));
        command.addAll(List.of(options));
        command.add(file.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            awaitListening(p, socket, log, Duration.ofSeconds(30));
        } catch (AssertionError | IOException | InterruptedException e) {
            p.destroyForcibly();
            throw e;
        }
        return p;
    }

    /**
     * Returns once {@code socket} takes a connection (closed again at once).
     *
     * @throws AssertionError the server exited, with its log, or {@code limit} passed
     */
    public static void awaitListening(Process server, Path socket, Path log, Duration limit)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            if (!server.isAlive()) {
                throw new AssertionError("qemu-nbd exited " + server.exitValue() + ": "
                        + (Files.exists(log) ? Files.readString(log) : ""));
            }
            if (Files.exists(socket)) {
                try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return;
                } catch (IOException notYet) {
                    // Bound, not listening yet.
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("qemu-nbd did not listen on " + socket + " within " + limit);
            }
            Thread.sleep(20);
        }
    }
}
