package io.stratus.bench;

import io.stratus.kvm.sys.NetworkNamespace;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * TCP throughput over virtio-net on a TAP, guest to host and host to guest, with the kit's
 * test kernel and busybox {@code nc}. Each VMM runs as its own process in a network namespace
 * made for the run ({@code ip netns exec}), on the same persistent TAP; the host end is this
 * JVM, with its sockets made on a thread inside that namespace. Throughput is timed on the host,
 * from accepting the connection to the last byte (guest to host) or to the guest closing after
 * it read everything (host to guest).
 */
public final class NetBenchmark {
    private static final String HOST_IP = "10.77.0.1";
    private static final String TAP = "st0";
    private static final int UP_PORT = 5001;
    private static final int DOWN_PORT = 5002;
    private static final Duration BOOT_LIMIT = Duration.ofMinutes(5);
    private static final Duration TRANSFER_LIMIT = Duration.ofMinutes(5);
    private static final double MIB = 1 << 20;

    private NetBenchmark() {
    }

    /**
     * @param stratus the {@code stratus vm run} command for a guest, to which {@code --net} is added
     * @param rounds  transfers each way per boot
     */
    public static BenchReport run(Path kit, Path work, Function<GuestSpec, List<String>> stratus, int sizeMiB,
                                  int rounds) throws Exception {
        Path disk = ScriptDisk.in(work).randomFile("up.bin", sizeMiB, 5).script(
                "ip addr add 10.77.0.2/24 dev eth0 && ip link set eth0 up",
                // Read once so that the upload comes from the page cache, not the disk.
                "cat /mnt/up.bin > /dev/null",
                "echo NET-READY",
                "i=0; while [ $i -lt " + rounds + " ]; do",
                "  nc " + HOST_IP + " " + UP_PORT + " < /mnt/up.bin",
                "  nc " + HOST_IP + " " + DOWN_PORT + " > /dev/null",
                "  i=$((i + 1))",
                "done",
                "echo NET-DONE").build(work.resolve("net.img"));
        // Room for the uploaded file in the page cache on top of a small guest's needs.
        int memoryMiB = 192 + sizeMiB;
        GuestSpec guest = new GuestSpec(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                "panic=-1 stratus.run=" + ScriptDisk.SCRIPT, memoryMiB, 1, List.of(new GuestSpec.Disk(disk, true)));
        List<String> stratusCommand = new ArrayList<>(stratus.apply(guest));
        stratusCommand.addAll(List.of("--net", "tap=" + TAP));
        List<String> qemuCommand = new ArrayList<>(Qemu.command(guest));
        qemuCommand.addAll(List.of("-netdev", "tap,id=n0,ifname=" + TAP + ",script=no,downscript=no,vnet_hdr=on",
                "-device", "virtio-net-device,netdev=n0"));

        Samples samples = new Samples();
        String up = "guest to host, TCP, " + sizeMiB + " MiB";
        String down = "host to guest, TCP, " + sizeMiB + " MiB";
        String ns = "stratus-bench-" + ProcessHandle.current().pid();
        try (Namespace namespace = Namespace.create(ns)) {
            measure(BenchReport.STRATUS, namespace, stratusCommand, sizeMiB, rounds, samples, up, down);
            measure(BenchReport.PEER, namespace, qemuCommand, sizeMiB, rounds, samples, up, down);
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "kit test kernel + initramfs, 1 vCPU, " + memoryMiB + " MiB, busybox nc; the file read once into the"
                + " page cache first");
        setup.put("network", "a persistent TAP in a network namespace made for the run, host end " + HOST_IP
                + "/24 in this JVM; " + rounds + " transfers each way per boot");
        setup.put("stratus", "bin/stratus vm run --net tap=" + TAP + " (own JVM, in the namespace)");
        setup.put("qemu", "-netdev tap,vnet_hdr=on -device virtio-net-device (in the namespace)");
        return new BenchReport("net", setup, List.of(samples.measurement(up, "MiB/s", true),
                samples.measurement(down, "MiB/s", true)), List.of());
    }

    private static void measure(String vmm, Namespace ns, List<String> command, int sizeMiB, int rounds,
                                Samples samples, String up, String down) throws Exception {
        long bytes = (long) sizeMiB << 20;
        ExecutorService host = Executors.newSingleThreadExecutor();
        try {
            ServerSocket[] servers = ns.call(() -> {
                InetAddress address = InetAddress.getByName(HOST_IP);
                return new ServerSocket[] {new ServerSocket(UP_PORT, 1, address),
                        new ServerSocket(DOWN_PORT, 1, address)};
            });
            try (ServerSocket upServer = servers[0]; ServerSocket downServer = servers[1];
                 ProcessGuest guest = ProcessGuest.start(vmm, ns.exec(command))) {
                Future<double[][]> transfers = host.submit(() -> {
                    double[][] rates = new double[rounds][2];
                    for (int r = 0; r < rounds; r++) {
                        rates[r][0] = receive(upServer, bytes);
                        rates[r][1] = send(downServer, bytes);
                    }
                    return rates;
                });
                guest.await("NET-READY", BOOT_LIMIT);
                guest.await("NET-DONE", TRANSFER_LIMIT);
                for (double[] rate : transfers.get()) {
                    samples.add(up, vmm, rate[0]);
                    samples.add(down, vmm, rate[1]);
                }
            }
        } finally {
            host.shutdownNow();
        }
    }

    /** Reads {@code bytes} from the guest; MiB/s from accept to the last byte. */
    private static double receive(ServerSocket server, long bytes) throws IOException {
        try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
            long t0 = System.nanoTime();
            byte[] buf = new byte[1 << 20];
            long left = bytes;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException("the guest closed after " + (bytes - left) + " of " + bytes + " bytes");
                }
                left -= n;
            }
            return bytes / MIB / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** Sends {@code bytes} to the guest; MiB/s from accept until the guest closes, having read all. */
    private static double send(ServerSocket server, long bytes) throws IOException {
        try (Socket s = server.accept(); OutputStream out = s.getOutputStream(); InputStream in = s.getInputStream()) {
            long t0 = System.nanoTime();
            byte[] buf = new byte[1 << 20];
            new java.util.Random(7).nextBytes(buf);
            for (long left = bytes; left > 0; left -= buf.length) {
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
            s.shutdownOutput();
            while (in.read(buf) >= 0) {
                // busybox nc closes once it has read our end of stream.
            }
            return bytes / MIB / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** A network namespace with a persistent TAP whose host end has {@link #HOST_IP}; removed on close. */
    private record Namespace(String name) implements AutoCloseable {
        static Namespace create(String name) throws IOException, InterruptedException {
            Namespace ns = new Namespace(name);
            run(List.of("ip", "netns", "add", name));
            try {
                ns.ip("link", "set", "lo", "up");
                ns.ip("tuntap", "add", "dev", TAP, "mode", "tap");
                ns.ip("addr", "add", HOST_IP + "/24", "dev", TAP);
                ns.ip("link", "set", TAP, "up");
            } catch (IOException | RuntimeException e) {
                ns.close();
                throw e;
            }
            return ns;
        }

        List<String> exec(List<String> command) {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name));
            c.addAll(command);
            return c;
        }

        void ip(String... args) throws IOException, InterruptedException {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name, "ip"));
            c.addAll(List.of(args));
            run(c);
        }

        /** Runs {@code task} on a fresh thread inside the namespace (only that thread enters it). */
        <T> T call(java.util.concurrent.Callable<T> task) throws Exception {
            ExecutorService thread = Executors.newSingleThreadExecutor();
            try {
                return thread.submit(() -> {
                    NetworkNamespace.enter(name);
                    return task.call();
                }).get();
            } finally {
                thread.shutdownNow();
            }
        }

        @Override
        public void close() {
            try {
                run(List.of("ip", "netns", "del", name));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("could not remove network namespace " + name, e);
            }
        }

        private static void run(List<String> command) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + out.strip());
            }
        }
    }
}
