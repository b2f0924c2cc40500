package io.stratus.bench;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A volume's I/O inside the guest: the blk benchmark's guest and patterns ({@link BlockBenchmark})
 * on the same raw file attached two ways, as a local disk the VMM opens and as a volume served by
 * Debian's {@code qemu-nbd} on a Unix socket, on each VMM: QEMU with its own NBD client, Stratus
 * (the kvm engine) with kvm-runtime's {@code NbdClient} behind a volume slot. The ratios are NBD
 * over local per VMM, and Stratus over QEMU on each path.
 */
public final class VolumeBenchmark {
    static final String LOCAL = "local";
    static final String NBD = "nbd";
    static final String QEMU = "qemu";

    private VolumeBenchmark() {
    }

    /**
     * Runs every VMM in {@code vmms} on both paths {@code runs} times.
     *
     * @param skipped why a VMM that was left out could not run here (a note in the report), or empty
     */
    public static BenchReport run(Path kit, Path guests, Path work, List<Vmm> vmms, int runs, Duration limit,
                                  List<String> skipped) throws Exception {
        Path tools = BlockBenchmark.toolsImage(guests, work);
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>(skipped);
        // A short path: a Unix socket's is at most 107 bytes.
        Path socket = work.resolve("nbd.sock");
        for (int run = 0; run < runs; run++) {
            for (Vmm vmm : vmms) {
                for (String path : List.of(LOCAL, NBD)) {
                    String column = column(vmm.name(), path);
                    Path target = BlockBenchmark.target(work.resolve("vol-target.img"));
                    Process server = path.equals(NBD) ? serve(target, socket, work.resolve("qemu-nbd.log")) : null;
                    try {
                        GuestSpec.Disk disk = server != null ? GuestSpec.Disk.overNbd(target, socket)
                                : new GuestSpec.Disk(target, false);
                        GuestSpec guest = new GuestSpec(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                                "panic=-1 stratus.run=/mnt/bench.sh", 256, 1,
                                List.of(new GuestSpec.Disk(tools, true), disk));
                        Vmm.GuestRun r = vmm.run(guest, limit);
                        int found = BlockBenchmark.collect(r.console(), samples, column);
                        if (found < 4) {
                            notes.add(column + " run " + run + " reported " + found + " of 4 results (" + r.outcome()
                                    + "): " + r.console().tail(4));
                        }
                    } finally {
                        if (server != null) {
                            stop(server);
                        }
                        Files.deleteIfExists(target);
                    }
                }
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "kit test kernel, 1 vCPU, 256 MiB; tools disk (ro) + 256 MiB raw target disk");
        setup.put("tool", "guests/blkbench.c, O_DIRECT; seq 64 x 1 MiB, random 1000 x 4 KiB");
        setup.put("paths", "local: the VMM opens the raw file (cache=writeback); nbd: qemu-nbd --cache=writeback"
                + " serves it on a Unix socket, QEMU's NBD client or kvm-runtime's NbdClient (volume slot)");
        setup.put("runs", Integer.toString(runs));
        return new BenchReport("volume", setup, BlockBenchmark.measurements(samples), notes, ratios(vmms));
    }

    /** A result column: the VMM's short name and the path, for example {@code qemu-nbd}. */
    static String column(String vmm, String path) {
        return (vmm.equals(BenchReport.PEER) ? QEMU : vmm) + "-" + path;
    }

    /** NBD over local for each VMM, then Stratus over QEMU on each path where both ran. */
    static List<BenchReport.Ratio> ratios(List<Vmm> vmms) {
        List<BenchReport.Ratio> ratios = new ArrayList<>();
        List<String> names = vmms.stream().map(Vmm::name).toList();
        for (String vmm : names) {
            ratios.add(new BenchReport.Ratio(column(vmm, NBD), column(vmm, LOCAL)));
        }
        if (names.contains(BenchReport.STRATUS) && names.contains(BenchReport.PEER)) {
            for (String path : List.of(NBD, LOCAL)) {
                ratios.add(new BenchReport.Ratio(column(BenchReport.STRATUS, path), column(BenchReport.PEER, path)));
            }
        }
        return ratios;
    }

    /** {@code qemu-nbd} serving {@code file} as the export the guest's disk names, once it listens. */
    static Process serve(Path file, Path socket, Path log) throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        Process p = new ProcessBuilder("qemu-nbd", "--persistent", "--cache=writeback", "-f", "raw", "-x",
                GuestSpec.Disk.NBD_EXPORT, "-k", socket.toString(), file.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!p.isAlive()) {
                throw new IOException("qemu-nbd exited " + p.exitValue() + ": " + Files.readString(log));
            }
            // The socket file appears when it binds, before it listens: a connection is the proof.
            if (Files.exists(socket)) {
                try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return p;
                } catch (IOException notYet) {
                    // Bound, not listening yet.
                }
            }
            if (System.nanoTime() > deadline) {
                stop(p);
                throw new IOException("qemu-nbd did not listen on " + socket + " within 30 s: " + Files.readString(log));
            }
            Thread.sleep(20);
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }
}
