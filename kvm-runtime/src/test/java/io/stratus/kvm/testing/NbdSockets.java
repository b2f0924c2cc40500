package io.stratus.kvm.testing;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Waiting for a test's {@code qemu-nbd} on a Unix socket: its socket file appears when it binds,
 * before it listens, so a client that only waits for the file is sometimes refused.
 */
public final class NbdSockets {
    private NbdSockets() {
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
