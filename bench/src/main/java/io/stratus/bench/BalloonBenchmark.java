package io.stratus.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * virtio-balloon with the kit's test kernel: how fast each VMM takes memory back from a Linux
 * guest, and how much of it leaves the host. The guest first reads a file into its page cache
 * and drops it again, so that its free memory is resident on the host, as in a guest that has
 * worked and gone idle; then the balloon inflates by a set size, and deflates. Host memory is
 * the resident part of the guest RAM mapping, and the VMM process's RSS beside it. Stratus is
 * driven through {@code vm run --control}, QEMU through QMP.
 */
public final class BalloonBenchmark {
    private static final Duration BOOT_LIMIT = Duration.ofMinutes(6);
    private static final Duration STEP_LIMIT = Duration.ofMinutes(5);
    private static final long MIB = 1L << 20;

    private BalloonBenchmark() {
    }

    /** The balloon of a guest running in its own process. */
    private interface Balloon extends AutoCloseable {
        void inflateTo(int mib) throws IOException;

        /** MiB the balloon holds now. */
        long inflatedMiB() throws IOException;

        @Override
        void close() throws IOException;
    }

    /**
     * @param stratus the {@code stratus vm run} command for a guest, to which {@code --control} is added
     */
    public static BenchReport run(Path kit, Path work, Function<GuestSpec, List<String>> stratus, int memoryMiB,
                                  int fillMiB, int inflateMiB, int runs) throws Exception {
        if (inflateMiB >= memoryMiB || fillMiB >= memoryMiB) {
            throw new IllegalArgumentException("the fill (" + fillMiB + " MiB) and the balloon (" + inflateMiB
                    + " MiB) must each be smaller than the guest (" + memoryMiB + " MiB)");
        }
        Path disk = ScriptDisk.in(work).randomFile("fill.bin", fillMiB, 9).script(
                "cat /mnt/fill.bin > /dev/null",
                "echo 1 > /proc/sys/vm/drop_caches",
                "echo BALLOON-READY",
                "sleep 1000000").build(work.resolve("balloon.img"));
        GuestSpec guest = new GuestSpec(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                "panic=-1 stratus.run=" + ScriptDisk.SCRIPT, memoryMiB, 1, List.of(new GuestSpec.Disk(disk, true)));
        Samples samples = new Samples();
        String inflate = "inflate by " + inflateMiB + " MiB";
        String deflate = "deflate by " + inflateMiB + " MiB";
        String before = "guest RAM resident before inflating";
        String after = "guest RAM resident after inflating";
        String returned = "host memory returned by inflating";
        String rssBeforeMetric = "VMM process RSS before inflating";
        String rssAfterMetric = "VMM process RSS after inflating";
        for (int r = 0; r < runs; r++) {
            Path socket = work.resolve("control-" + r + ".sock");
            List<String> s = new ArrayList<>(stratus.apply(guest));
            s.addAll(List.of("--control", socket.toString()));
            Path qmp = work.resolve("qmp-" + r + ".sock");
            List<String> q = new ArrayList<>(Qemu.command(guest));
            q.addAll(List.of("-device", "virtio-balloon-device,free-page-reporting=on,deflate-on-oom=on",
                    "-qmp", "unix:" + qmp + ",server=on,wait=off"));
            for (String vmm : List.of(BenchReport.STRATUS, BenchReport.PEER)) {
                boolean isStratus = vmm.equals(BenchReport.STRATUS);
                try (ProcessGuest g = ProcessGuest.start(vmm, isStratus ? s : q)) {
                    g.await("BALLOON-READY", BOOT_LIMIT);
                    try (Balloon balloon = isStratus ? stratusBalloon(socket) : qemuBalloon(qmp, memoryMiB)) {
                        long ramBefore = Smaps.of(g.pid()).guestRam(memoryMiB * MIB).rss();
                        long rssBefore = g.rssBytes();
                        double inflateSeconds = resize(balloon, inflateMiB, g);
                        long ramAfter = Smaps.of(g.pid()).guestRam(memoryMiB * MIB).rss();
                        long rssAfter = g.rssBytes();
                        double deflateSeconds = resize(balloon, 0, g);
                        samples.add(inflate, vmm, inflateMiB / inflateSeconds);
                        samples.add(deflate, vmm, inflateMiB / deflateSeconds);
                        samples.add(before, vmm, (double) ramBefore / MIB);
                        samples.add(after, vmm, (double) ramAfter / MIB);
                        samples.add(returned, vmm, (double) (ramBefore - ramAfter) / MIB);
                        samples.add(rssBeforeMetric, vmm, (double) rssBefore / MIB);
                        samples.add(rssAfterMetric, vmm, (double) rssAfter / MIB);
                    }
                }
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "kit test kernel + initramfs, 1 vCPU, " + memoryMiB + " MiB; " + fillMiB
                + " MiB read into the page cache and dropped before the balloon moves");
        setup.put("host memory", "resident part of the guest RAM mapping (/proc/PID/smaps), and the VMM process's"
                + " RSS (Stratus: its whole JVM, default heap settings)");
        setup.put("stratus", "bin/stratus vm run --control SOCKET, `balloon SIZE`, polled with `balloon`");
        setup.put("qemu", "-device virtio-balloon-device,free-page-reporting=on,deflate-on-oom=on, QMP balloon,"
                + " polled with query-balloon");
        return new BenchReport("balloon", setup, List.of(samples.measurement(inflate, "MiB/s", true),
                samples.measurement(deflate, "MiB/s", true), samples.measurement(before, "MiB", false),
                samples.measurement(after, "MiB", false), samples.measurement(returned, "MiB", true),
                samples.measurement(rssBeforeMetric, "MiB", false), samples.measurement(rssAfterMetric, "MiB", false)),
                List.of());
    }

    /** Sets the balloon to {@code mib} and waits until the guest has moved it there; seconds taken. */
    private static double resize(Balloon balloon, int mib, ProcessGuest guest) throws Exception {
        long t0 = System.nanoTime();
        balloon.inflateTo(mib);
        long deadline = t0 + STEP_LIMIT.toNanos();
        while (balloon.inflatedMiB() != mib) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the balloon did not reach " + mib + " MiB in " + STEP_LIMIT
                        + " (at " + balloon.inflatedMiB() + " MiB):\n" + guest.console().tail(10));
            }
            Thread.sleep(50);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static Balloon qemuBalloon(Path socket, int memoryMiB) throws Exception {
        Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(30));
        return new Balloon() {
            @Override
            public void inflateTo(int mib) throws IOException {
                // QMP speaks in guest size: memory minus balloon.
                qmp.execute("balloon", "{\"value\":" + (memoryMiB - mib) * MIB + "}");
            }

            @Override
            public long inflatedMiB() throws IOException {
                long actual = Qmp.number(qmp.execute("query-balloon"), "actual");
                return memoryMiB - Math.floorDiv(actual + MIB - 1, MIB);
            }

            @Override
            public void close() throws IOException {
                qmp.close();
            }
        };
    }

    private static Balloon stratusBalloon(Path socket) {
        return new Balloon() {
            @Override
            public void inflateTo(int mib) throws IOException {
                request(socket, "balloon " + mib + "M");
            }

            @Override
            public long inflatedMiB() throws IOException {
                for (String line : request(socket, "balloon").split("\n")) {
                    if (line.startsWith("balloon_actual_mib=")) {
                        return Long.parseLong(line.substring(line.indexOf('=') + 1));
                    }
                }
                throw new IOException("no balloon_actual_mib in the status on " + socket);
            }

            @Override
            public void close() {
            }
        };
    }

    /** One request on a {@code vm run --control} socket; its answer, or an exception when refused. */
    private static String request(Path socket, String request) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            channel.shutdownOutput();
            String answer = new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
            if (!answer.startsWith("ok")) {
                throw new IOException("stratus refused '" + request + "': " + answer.strip());
            }
            return answer;
        }
    }
}
