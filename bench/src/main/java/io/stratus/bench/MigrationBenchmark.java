package io.stratus.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Live migration over loopback on one host, source and target each their own process: Stratus
 * ({@link MigrationPeer}, a JVM per end) against two QEMU processes ({@code -incoming tcp:…},
 * QMP {@code migrate}). The guest ({@code guests/migbench.c}) spins in user mode reading the TSC
 * and prints the largest gap between two reads every 100 ms; idle, or rewriting a region of its
 * RAM at a set rate. The TSC runs on across a migration on the same host, so the first window
 * the guest reports from the target holds the pause it saw: the downtime measured inside the guest.
 */
public final class MigrationBenchmark {
    private static final Pattern GAP = Pattern.compile("^MBGAP (\\d+) SEQ (\\d+)$");
    private static final Pattern FIELD = Pattern.compile("(\\w+)=(\\S+)");
    private static final Duration START_LIMIT = Duration.ofSeconds(60);
    /** How long a migration may run before it counts as not converging (QEMU's is cancelled then). */
    private static final Duration MIGRATION_LIMIT = Duration.ofSeconds(60);
    private static final Duration AFTER_LIMIT = Duration.ofSeconds(15);
    /** MBGAP lines (100 ms each) the guest prints before the migration starts. */
    private static final int REPORTS_BEFORE = 10;
    /** QEMU's max-bandwidth, bytes/s: high enough to be no limit on loopback (Stratus has none). */
    private static final long QEMU_MAX_BANDWIDTH = 64L << 30;

    static final String STRATUS_COLD = "stratus-cold-jvm";
    /** In-process migrations of a small guest each Stratus end makes before the measured one. */
    static final int WARM_UPS = 3;

    private MigrationBenchmark() {
    }

    /** One guest to migrate: its size and, for a busy one, the region it rewrites and how fast. */
    record Case(String label, int memoryMiB, int busyMiB, int rateMiBps) {
        String cmdline(long tscKhz) {
            return "mb.tsckhz=" + tscKhz + " mb.report=100 mb.kib=" + busyMiB * 1024L + " mb.rate=" + rateMiBps;
        }
    }

    /** What one migration gave; NaN where a figure is missing. */
    record Outcome(boolean completed, double totalMs, double downtimeMs, double guestGapMs, double bytes,
                   double rounds, double baselineGapMs, double precopyGapMs, String problem) {
        static Outcome failed(String problem) {
            return new Outcome(false, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, problem);
        }
    }

    /** The busy region of a guest: a quarter of 256 MiB, an eighth of larger guests. */
    static int busyRegionMiB(int memoryMiB) {
        return memoryMiB <= 256 ? memoryMiB / 4 : memoryMiB / 8;
    }

    /**
     * @param cold also migrate between fresh JVMs (column {@value #STRATUS_COLD}); the "stratus"
     *             column's JVMs have first migrated a small guest {@value #WARM_UPS} times each
     */
    public static BenchReport run(Path guests, List<String> javaCommand, List<Integer> sizesMiB, int runs,
                                  int maxDowntimeMs, int busyRateMiBps, boolean cold) throws Exception {
        Path image = guests.resolve("migbench.elf");
        long tscKhz = hostTscKhz();
        List<Case> cases = new ArrayList<>();
        for (int mib : sizesMiB) {
            cases.add(new Case("idle " + size(mib), mib, 0, 0));
            cases.add(new Case("busy " + size(mib), mib, busyRegionMiB(mib), busyRateMiBps));
        }
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        List<Measurement> measurements = new ArrayList<>();
        Path work = Files.createTempDirectory("stratus-bench-migrate-");
        for (Case c : cases) {
            for (int r = 0; r < runs; r++) {
                record(samples, notes, c, BenchReport.STRATUS,
                        stratus(image, javaCommand, c, tscKhz, maxDowntimeMs, WARM_UPS));
                if (cold) {
                    record(samples, notes, c, STRATUS_COLD, stratus(image, javaCommand, c, tscKhz, maxDowntimeMs, 0));
                }
                record(samples, notes, c, BenchReport.PEER, qemu(image, work, c, tscKhz, maxDowntimeMs));
            }
            measurements.add(samples.measurement(c.label() + ": total time", "ms", false));
            measurements.add(samples.measurement(c.label() + ": downtime (VMM)", "ms", false));
            measurements.add(samples.measurement(c.label() + ": downtime (in guest)", "ms", false));
            measurements.add(samples.measurement(c.label() + ": bytes sent", "MiB", false));
            measurements.add(samples.measurement(c.label() + ": rounds", "count", false));
            measurements.add(samples.measurement(c.label() + ": guest gap before migrating", "ms", false));
            measurements.add(samples.measurement(c.label() + ": guest gap while pre-copying", "ms", false));
        }
        SnapshotBenchmark.deleteTree(work);
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "guests/migbench.c, 1 vCPU: spins at CPL3 reading the TSC and prints the largest gap"
                + " between reads every 100 ms; busy guests also rewrite " + busyRateMiBps + " MiB/s of pages"
                + " of a region (" + busyDescription(sizesMiB) + ")");
        setup.put("transport", "TCP over 127.0.0.1, source and target in separate processes on this host");
        setup.put("stratus", "io.stratus.kvm.migration: a JVM per end (bench MigrationPeer), MigrationSettings"
                + ".defaults() with maxDowntime " + maxDowntimeMs + " ms (30 rounds, no bandwidth limit,"
                + " throttling in 20% steps up to 80%, no compression); each JVM first migrates a 64 MiB guest "
                + WARM_UPS + " times within itself (JIT warm, as an agent that has migrated before)"
                + (cold ? "; " + STRATUS_COLD + ": fresh JVMs, no warm-up" : ""));
        setup.put("qemu", "qemu-system-x86_64 -M microvm, target -incoming tcp:127.0.0.1:PORT, source QMP"
                + " migrate-set-parameters downtime-limit=" + maxDowntimeMs + " max-bandwidth=64 GiB/s (QEMU's"
                + " 128 MiB/s default would cap loopback), other parameters default (no auto-converge, no multifd)");
        setup.put("downtime (VMM)", "stratus: pause to the target's RUNNING answer; qemu: query-migrate downtime");
        setup.put("downtime (in guest)", "the largest gap between the guest's TSC reads in its first 100 ms window"
                + " on the target (TSC at " + tscKhz + " kHz from /proc/cpuinfo; the TSC runs on across a"
                + " same-host migration)");
        setup.put("guest gaps", "before migrating: the largest of the guest's windows 1-" + (REPORTS_BEFORE - 1)
                + " on the source (the host's noise floor); while pre-copying: the"
                + " largest window the source printed after the migration began (dirty-log syncs, throttling)");
        setup.put("rounds", "stratus: copy rounds, the last (paused) one included; qemu: dirty-sync-count");
        setup.put("bounds", "a migration that has not completed after " + MIGRATION_LIMIT.toSeconds()
                + " s counts as not converged (QEMU's is cancelled; Stratus aborts itself after 30 rounds)");
        setup.put("host", System.getProperty("os.name") + " " + System.getProperty("os.version") + ", "
                + Runtime.getRuntime().availableProcessors() + " CPUs"
                + (Files.isDirectory(Path.of("/sys/module/kvm_pvm")) ? ", /dev/kvm by kvm_pvm" : ""));
        return new BenchReport("migrate", setup, measurements, notes);
    }

    private static String busyDescription(List<Integer> sizesMiB) {
        List<String> parts = new ArrayList<>();
        for (int mib : sizesMiB) {
            parts.add(busyRegionMiB(mib) + " MiB of " + size(mib));
        }
        return String.join(", ", parts);
    }

    private static String size(int mib) {
        return mib % 1024 == 0 ? mib / 1024 + " GiB" : mib + " MiB";
    }

    private static void record(Samples samples, List<String> notes, Case c, String vmm, Outcome o) {
        if (!o.completed()) {
            notes.add(vmm + " " + c.label() + ": " + o.problem());
            return;
        }
        samples.add(c.label() + ": total time", vmm, o.totalMs());
        samples.add(c.label() + ": downtime (VMM)", vmm, o.downtimeMs());
        samples.add(c.label() + ": downtime (in guest)", vmm, o.guestGapMs());
        samples.add(c.label() + ": bytes sent", vmm, o.bytes() / (1 << 20));
        samples.add(c.label() + ": rounds", vmm, o.rounds());
        samples.add(c.label() + ": guest gap before migrating", vmm, o.baselineGapMs());
        samples.add(c.label() + ": guest gap while pre-copying", vmm, o.precopyGapMs());
        if (o.problem() != null) {
            notes.add(vmm + " " + c.label() + ": " + o.problem());
        }
    }

    private static Outcome stratus(Path image, List<String> javaCommand, Case c, long tscKhz, int maxDowntimeMs,
                                   int warmUps) throws Exception {
        List<String> target = new ArrayList<>(javaCommand);
        target.addAll(List.of(MigrationPeer.class.getName(), "target", image.toString(),
                Integer.toString(c.memoryMiB()), c.cmdline(tscKhz), Integer.toString(warmUps)));
        try (ProcessGuest in = ProcessGuest.start("stratus-target", target)) {
            in.await(MigrationPeer.LISTENING, START_LIMIT);
            int port = Integer.parseInt(lineWith(in, MigrationPeer.LISTENING).orElseThrow().split(" ")[1]);
            List<String> source = new ArrayList<>(javaCommand);
            source.addAll(List.of(MigrationPeer.class.getName(), "source", image.toString(),
                    Integer.toString(c.memoryMiB()), c.cmdline(tscKhz), Integer.toString(port),
                    Integer.toString(maxDowntimeMs), Integer.toString(REPORTS_BEFORE), Integer.toString(warmUps)));
            try (ProcessGuest out = ProcessGuest.start("stratus-source", source)) {
                if (!out.console().await(MigrationPeer.RESULT, (START_LIMIT.plus(MIGRATION_LIMIT)).toMillis())) {
                    return Outcome.failed("no result from the source within " + START_LIMIT.plus(MIGRATION_LIMIT)
                            + ": " + out.console().tail(5));
                }
                Map<String, String> sent = fields(lineWith(out, MigrationPeer.RESULT).orElseThrow());
                if (sent.containsKey("error")) {
                    return Outcome.failed("source failed: " + sent.get("error"));
                }
                if (!"true".equals(sent.get("completed"))) {
                    return Outcome.failed("did not converge (the guest ran on at the source): "
                            + lineWith(out, MigrationPeer.RESULT).orElseThrow());
                }
                double gap = firstGapMs(in);
                return new Outcome(true, Double.parseDouble(sent.get("total_ms")),
                        Double.parseDouble(sent.get("downtime_ms")), gap, Double.parseDouble(sent.get("bytes")),
                        Double.parseDouble(sent.get("rounds")), largestGapMs(out, 1, REPORTS_BEFORE - 1),
                        largestGapMs(out, REPORTS_BEFORE, Long.MAX_VALUE), throttled(sent));
            }
        }
    }

    private static String throttled(Map<String, String> sent) {
        String t = sent.getOrDefault("throttle", "0");
        return t.equals("0") ? null : "vCPUs throttled up to " + t + "% before the switch-over";
    }

    private static Outcome qemu(Path image, Path work, Case c, long tscKhz, int maxDowntimeMs) throws Exception {
        GuestSpec guest = new GuestSpec(image, null, c.cmdline(tscKhz), c.memoryMiB(), 1, List.of());
        int port = freePort();
        Path qmpSource = work.resolve("source.qmp");
        Files.deleteIfExists(qmpSource);
        List<String> target = new ArrayList<>(Qemu.command(guest));
        target.addAll(List.of("-incoming", "tcp:127.0.0.1:" + port));
        List<String> source = new ArrayList<>(Qemu.command(guest));
        source.addAll(List.of("-qmp", "unix:" + qmpSource + ",server=on,wait=off"));
        try (ProcessGuest in = ProcessGuest.start("qemu-target", target);
             ProcessGuest out = ProcessGuest.start("qemu-source", source);
             Qmp qmp = Qmp.connect(qmpSource, START_LIMIT)) {
            awaitReports(out, REPORTS_BEFORE, START_LIMIT);
            qmp.execute("migrate-set-parameters", "{\"downtime-limit\":" + maxDowntimeMs + ",\"max-bandwidth\":"
                    + QEMU_MAX_BANDWIDTH + "}");
            qmp.execute("migrate", "{\"uri\":\"tcp:127.0.0.1:" + port + "\"}");
            long deadline = System.nanoTime() + MIGRATION_LIMIT.toNanos();
            String answer;
            String status;
            while (true) {
                answer = qmp.execute("query-migrate");
                status = Qmp.string(answer, "status");
                if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    qmp.execute("migrate_cancel");
                    return Outcome.failed("did not converge within " + MIGRATION_LIMIT.toSeconds() + " s ("
                            + status + ", dirty-sync-count " + optionalNumber(answer, "dirty-sync-count")
                            + "); cancelled, the guest ran on at the source");
                }
                Thread.sleep(5);
            }
            if (!status.equals("completed")) {
                return Outcome.failed("migration " + status + ": " + answer);
            }
            double gap = firstGapMs(in);
            return new Outcome(true, Qmp.number(answer, "total-time"), Qmp.number(answer, "downtime"), gap,
                    Qmp.number(answer, "transferred"), Qmp.number(answer, "dirty-sync-count"),
                    largestGapMs(out, 1, REPORTS_BEFORE - 1), largestGapMs(out, REPORTS_BEFORE, Long.MAX_VALUE), null);
        }
    }

    private static String optionalNumber(String json, String field) {
        try {
            return Long.toString(Qmp.number(json, field));
        } catch (IllegalStateException e) {
            return "?";
        }
    }

    /** The gap (ms) of the first complete MBGAP line the target's console shows; NaN if none comes. */
    private static double firstGapMs(ProcessGuest target) throws InterruptedException {
        long deadline = System.nanoTime() + AFTER_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : target.console().lines()) {
                Matcher m = GAP.matcher(line.strip());
                if (m.matches()) {
                    return Long.parseLong(m.group(1)) / 1000.0;
                }
            }
            Thread.sleep(5);
        }
        return Double.NaN;
    }

    /** The largest gap (ms) of the MBGAP lines numbered {@code from} to {@code to} on a console; NaN if none. */
    private static double largestGapMs(ProcessGuest guest, long from, long to) {
        double largest = Double.NaN;
        for (String line : guest.console().lines()) {
            Matcher m = GAP.matcher(line.strip());
            if (m.matches() && Long.parseLong(m.group(2)) >= from && Long.parseLong(m.group(2)) <= to) {
                double gap = Long.parseLong(m.group(1)) / 1000.0;
                largest = Double.isNaN(largest) ? gap : Math.max(largest, gap);
            }
        }
        return largest;
    }

    private static void awaitReports(ProcessGuest guest, int count, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (guest.console().lines().stream().filter(l -> GAP.matcher(l.strip()).matches()).count() < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the guest printed no " + count + " MBGAP lines within " + limit
                        + ":\n" + guest.console().tail(10));
            }
            Thread.sleep(10);
        }
    }

    private static Optional<String> lineWith(ProcessGuest guest, String marker) {
        return guest.console().lines().stream().filter(l -> l.startsWith(marker)).findFirst();
    }

    /** The key=value fields of a {@link MigrationPeer#RESULT} line; an error line gives only "error". */
    static Map<String, String> fields(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        int error = line.indexOf("error=");
        if (error >= 0) {
            out.put("error", line.substring(error + 6));
            return out;
        }
        int aborted = line.indexOf(" aborted=");
        Matcher m = FIELD.matcher(aborted >= 0 ? line.substring(0, aborted) : line);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        }
    }

    /**
     * The TSC frequency in kHz. Where the host's kernel knows it (constant_tsc, tsc_known_freq), its
     * "cpu MHz" is the TSC frequency, and KVM gives guests the host's rate unless told otherwise.
     */
    static long hostTscKhz() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("cpu MHz")) {
                return Math.round(Double.parseDouble(line.substring(line.indexOf(':') + 1).trim()) * 1000);
            }
        }
        throw new IOException("no cpu MHz in /proc/cpuinfo");
    }

}
