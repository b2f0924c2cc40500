package io.stratus.cli;

import io.stratus.kvm.VmmException;
import io.stratus.kvm.memory.HostPageFlags;
import io.stratus.kvm.memory.MemoryAccountingException;
import io.stratus.kvm.memory.PageFootprint;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.vm.VirtualMachine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * The control socket of {@code stratus vm run --control PATH}: a Unix socket that takes one
 * {@link ControlRequest} line per connection and answers "ok" or "error: ..." on the first
 * line, then any key=value lines. Clients: {@code stratus vm control PATH COMMAND}, or
 * {@code socat - UNIX-CONNECT:PATH}.
 */
final class VmControlSocket implements AutoCloseable {
    private static final long MIB = 1L << 20;
    private static final int MAX_LINE = 4096;
    private static final int MAX_CLIENTS = 16;

    private final Path path;
    private final ServerSocketChannel server;
    private final VirtualMachine vm;
    private final Thread thread;
    private final Semaphore clients = new Semaphore(MAX_CLIENTS);

    private VmControlSocket(Path path, ServerSocketChannel server, VirtualMachine vm) {
        this.path = path;
        this.server = server;
        this.vm = vm;
        this.thread = new Thread(this::serve, "stratus-vm-control");
        this.thread.setDaemon(true);
    }

    /** Listens on {@code path} (which must not exist yet) for requests about {@code vm}. */
    static VmControlSocket open(Path path, VirtualMachine vm) throws IOException {
        if (Files.exists(path)) {
            throw new IOException("control socket " + path + " already exists (another guest's, or a stale one:"
                    + " remove it)");
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        }
        VmControlSocket s = new VmControlSocket(path, server, vm);
        s.thread.start();
        return s;
    }

    private void serve() {
        while (server.isOpen()) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                continue; // the server closed (the guest ended): the loop ends
            }
            // Each client is read on its own thread, so one that connects and sends nothing holds
            // only that thread; requests themselves are carried out one at a time (execute).
            if (!clients.tryAcquire()) {
                try (client) {
                    client.write(ByteBuffer.wrap(("error: more than " + MAX_CLIENTS
                            + " clients are connected; try again\n").getBytes(StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    // That client went away.
                }
                continue;
            }
            Thread reader = new Thread(() -> {
                try (client) {
                    handle(client);
                } catch (IOException e) {
                    // The client went away mid-request.
                } finally {
                    clients.release();
                }
            }, "stratus-vm-control-client");
            reader.setDaemon(true);
            reader.start();
        }
    }

    private void handle(SocketChannel client) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(client),
                StandardCharsets.UTF_8));
        OutputStream out = Channels.newOutputStream(client);
        List<String> reply = new ArrayList<>();
        try {
            String line = readLine(in);
            if (line == null) {
                throw new ControlRequest.ControlException("empty request; " + ControlRequest.USAGE);
            }
            List<String> data = execute(ControlRequest.parse(line));
            reply.add("ok");
            reply.addAll(data);
        } catch (ControlRequest.ControlException | VmmException | IllegalArgumentException | IllegalStateException e) {
            reply.add("error: " + e.getMessage());
        } catch (RuntimeException e) {
            // Whatever one request breaks, the socket keeps serving the next ones.
            reply.add("error: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reply.add("error: interrupted");
        }
        out.write((String.join("\n", reply) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** One line of at most MAX_LINE characters: a client that sends more is cut off. */
    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (sb.length() >= MAX_LINE) {
                throw new ControlRequest.ControlException("request longer than " + MAX_LINE + " characters");
            }
            sb.append((char) c);
        }
        return sb.isEmpty() && c < 0 ? null : sb.toString();
    }

    private synchronized List<String> execute(ControlRequest request) throws IOException, InterruptedException {
        if (request instanceof ControlRequest.Status) {
            return status();
        } else if (request instanceof ControlRequest.Pause) {
            vm.pause();
        } else if (request instanceof ControlRequest.Resume) {
            vm.resume();
        } else if (request instanceof ControlRequest.Stop) {
            vm.stop();
        } else if (request instanceof ControlRequest.Balloon b) {
            balloon().setTarget(b.bytes());
        } else if (request instanceof ControlRequest.BalloonQuery) {
            return balloonFigures(balloon());
        } else if (request instanceof ControlRequest.Snapshot s) {
            Path dir = s.dir().toAbsolutePath();
            boolean wasRunning = vm.state() == VirtualMachine.State.RUNNING;
            if (wasRunning) {
                vm.pause();
            }
            try {
                vm.snapshot(dir);
            } finally {
                if (wasRunning) {
                    vm.resume();
                }
            }
            return List.of("snapshot=" + dir);
        }
        return List.of("state=" + vm.state());
    }

    private VirtioBalloon balloon() {
        return vm.balloon().orElseThrow(() -> new ControlRequest.ControlException(
                "this guest has no balloon (it was started with --no-balloon)"));
    }

    private static List<String> balloonFigures(VirtioBalloon b) {
        return List.of("balloon_target_mib=" + b.targetBytes() / MIB, "balloon_actual_mib=" + b.actualBytes() / MIB,
                "balloon_reported_mib=" + b.reportedBytes() / MIB);
    }

    private List<String> status() {
        List<String> lines = new ArrayList<>();
        lines.add("state=" + vm.state());
        lines.add("memory_mib=" + vm.config().memoryBytes() / MIB);
        lines.add("vcpus=" + vm.config().vcpus());
        vm.balloon().ifPresent(b -> {
            lines.addAll(balloonFigures(b));
            b.stats().ifPresent(s -> {
                lines.add("guest_total_mib=" + s.total() / MIB);
                lines.add("guest_free_mib=" + s.free() / MIB);
                lines.add("guest_available_mib=" + s.available() / MIB);
                lines.add("guest_major_faults=" + s.majorFaults());
                lines.add("guest_minor_faults=" + s.minorFaults());
                lines.add("guest_swap_in_bytes=" + s.swapIn());
                lines.add("guest_swap_out_bytes=" + s.swapOut());
            });
        });
        try {
            PageFootprint f = vm.memory().footprint(HostPageFlags.ofThisProcess());
            lines.add("host_resident_mib=" + f.residentBytes() / MIB);
            lines.add("host_ksm_mib=" + f.ksmBytes() / MIB);
            lines.add("host_private_mib=" + f.privateBytes() / MIB);
        } catch (MemoryAccountingException e) {
            lines.add("host_resident_mib=" + vm.memory().residentBytes() / MIB);
        }
        return lines;
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // Closing a listening socket does not fail in a way that matters here.
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // A socket file left behind is reported by the next open.
        }
    }
}
