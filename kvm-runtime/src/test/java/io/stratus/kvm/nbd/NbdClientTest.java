package io.stratus.kvm.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.testing.NbdSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a real server: Debian's {@code qemu-nbd} serving files of this test (skipped
 * with the reason where it is not installed), and a socket that is no NBD server at all.
 */
class NbdClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final List<Process> servers = new ArrayList<>();
    private Path sockets;

    @BeforeEach
    void qemuNbd() throws IOException {
        Assumptions.assumeTrue(onPath("qemu-nbd"), "qemu-nbd is not installed (Debian: qemu-utils): the NBD client"
                + " is not tested against a server");
        // A Unix socket's path is at most 107 bytes: the test's own directory may be deeper.
        sockets = Files.createTempDirectory(Path.of("/tmp"), "nbdtest");
    }

    @AfterEach
    void stopServers() throws Exception {
        for (Process p : servers) {
            p.destroyForcibly().waitFor();
        }
        if (sockets != null) {
            try (var files = Files.list(sockets)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(sockets);
        }
    }

    /** qemu-nbd serving {@code file} (raw) as export {@code vol}, with {@code options} more. */
    private Process serve(Path file, Path socket, String... options) throws Exception {
        Process p = NbdSockets.serveRaw(file, socket, dir.resolve(socket.getFileName() + ".log"), options);
        servers.add(p);
        return p;
    }

    private Path disk(int bytes) throws IOException {
        Path f = dir.resolve("disk-" + servers.size() + ".raw");
        Files.write(f, new byte[bytes]);
        return f;
    }

    private NbdClient connect(Path socket, boolean readOnly) throws IOException {
        return NbdClient.connect(UnixDomainSocketAddress.of(socket), "vol", readOnly, TIMEOUT);
    }

    @Test
    void theHandshakeTellsTheExportsSizeAndWhatIsWrittenIsReadBackAndReachesTheFile() throws Exception {
        Path file = disk(4 * MIB);
        Path socket = sockets.resolve("a.sock");
        serve(file, socket);
        byte[] data = new byte[3 * MIB + 512];
        new Random(7).nextBytes(data);

        try (NbdClient c = connect(socket, false)) {
            assertThat(c.size()).isEqualTo(4 * MIB);
            assertThat(c.readOnly()).isFalse();
            // Larger than one request: it goes in pieces.
            c.write(4096, ByteBuffer.wrap(data));
            c.flush();
            ByteBuffer back = ByteBuffer.allocateDirect(data.length);
            c.read(4096, back);
            back.flip();
            byte[] read = new byte[data.length];
            back.get(read);
            assertThat(read).isEqualTo(data);
        }
        byte[] onDisk = Files.readAllBytes(file);
        assertThat(Arrays.copyOfRange(onDisk, 4096, 4096 + data.length)).isEqualTo(data);
        assertThat(onDisk[4095]).isZero();
    }

    @Test
    void aReadOnlyExportRefusesWritesAndStillReads() throws Exception {
        Path file = disk(MIB);
        Files.write(file, "hello".getBytes(StandardCharsets.US_ASCII), java.nio.file.StandardOpenOption.WRITE);
        Path socket = sockets.resolve("ro.sock");
        serve(file, socket, "-r");

        try (NbdClient c = connect(socket, false)) {
            assertThat(c.readOnly()).isTrue();
            assertThatThrownBy(() -> c.write(0, ByteBuffer.wrap(new byte[512]))).isInstanceOfSatisfying(
                    NbdException.class, e -> {
                        assertThat(e.connectionLost()).isFalse();
                        assertThat(e.getMessage()).contains("read-only");
                    });
            ByteBuffer b = ByteBuffer.allocate(5);
            c.read(0, b);
            assertThat(new String(b.array(), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
    }

    @Test
    void aConnectionOpenedReadOnlyRefusesWritesToAWritableExport() throws Exception {
        Path socket = sockets.resolve("rw.sock");
        serve(disk(MIB), socket);

        try (NbdClient c = connect(socket, true)) {
            assertThat(c.readOnly()).isTrue();
            assertThatThrownBy(() -> c.write(0, ByteBuffer.wrap(new byte[512]))).isInstanceOf(NbdException.class);
        }
    }

    @Test
    void anUnknownExportIsRefusedByName() throws Exception {
        Path socket = sockets.resolve("b.sock");
        serve(disk(MIB), socket);

        assertThatThrownBy(() -> NbdClient.connect(UnixDomainSocketAddress.of(socket), "other", false, TIMEOUT))
                .isInstanceOf(NbdException.class).hasMessageContaining("'other'").hasMessageContaining("no such export");
    }

    @Test
    void aRequestBeyondTheExportsEndIsRefusedAndTheConnectionGoesOn() throws Exception {
        Path socket = sockets.resolve("c.sock");
        serve(disk(MIB), socket);

        try (NbdClient c = connect(socket, false)) {
            assertThatThrownBy(() -> c.read(MIB - 512, ByteBuffer.allocate(1024))).isInstanceOfSatisfying(
                    NbdException.class, e -> assertThat(e.connectionLost()).isFalse());
            assertThatThrownBy(() -> c.write(-512, ByteBuffer.allocate(512))).isInstanceOf(NbdException.class);
            c.read(MIB - 512, ByteBuffer.allocate(512));
        }
    }

    @Test
    void aServerThatEndsMakesThisAndEveryLaterRequestFailInsteadOfWaiting() throws Exception {
        Path socket = sockets.resolve("d.sock");
        Process server = serve(disk(MIB), socket);
        try (NbdClient c = connect(socket, false)) {
            c.write(0, ByteBuffer.wrap(new byte[4096]));

            server.destroyForcibly().waitFor();

            assertThatThrownBy(() -> c.write(0, ByteBuffer.wrap(new byte[4096]))).isInstanceOfSatisfying(
                    NbdException.class, e -> assertThat(e.connectionLost()).isTrue());
            assertThatThrownBy(() -> c.read(0, ByteBuffer.allocate(512))).isInstanceOfSatisfying(
                    NbdException.class, e -> assertThat(e.getMessage()).contains("connection was lost"));
        }
    }

    /** TEST-NET-1 (RFC 5737) answers nothing: the connect gives up after the timeout (or at once where there is no route). */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aServerThatNeverAnswersTheConnectionIsGivenUpOn() {
        assertThatThrownBy(() -> NbdClient.connect(new InetSocketAddress("192.0.2.1", 10809), "vol", false,
                Duration.ofSeconds(2))).isInstanceOf(IOException.class);
    }

    @Test
    void aServerThatIsNotNbdIsToldApart() throws Exception {
        try (ServerSocket listener = new ServerSocket(0)) {
            Thread t = new Thread(() -> {
                try (Socket s = listener.accept()) {
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    s.getInputStream().read();
                } catch (IOException e) {
                    // The client hung up: its side is what the test checks.
                }
            });
            t.start();
            assertThatThrownBy(() -> NbdClient.connect(new InetSocketAddress("127.0.0.1", listener.getLocalPort()),
                    "vol", false, TIMEOUT)).isInstanceOf(NbdException.class).hasMessageContaining("does not speak NBD");
            t.join();
        }
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }
}
