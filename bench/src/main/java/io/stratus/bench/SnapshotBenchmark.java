package io.stratus.bench;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Snapshot and restore of a guest whose RAM is full (the pages test guest writes every page
 * above 4 MiB), so that nothing is saved by skipping zero pages. Stratus: pause + snapshot to a
 * directory (fsync'd), then {@code VirtualMachine.restore} + start, in this JVM. QEMU: stop +
 * migrate to a file, then {@code migrate-incoming} from it in a QEMU already started with
 * {@code -incoming defer} + cont, until query-status says running.
 */
public final class SnapshotBenchmark {
    private static final Pattern FILLED = Pattern.compile("STRATUS-PAGES-FILLED");
    private static final Duration LIMIT = Duration.ofSeconds(120);

    private SnapshotBenchmark() {
    }

    public static BenchReport run(Path guests, Path work, List<Integer> sizesMiB, int runs) throws Exception {
        Path image = guests.resolve("pages.elf");
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        List<Measurement> measurements = new ArrayList<>();
        for (int mib : sizesMiB) {
            String snap = "snapshot, " + mib + " MiB";
            String restore = "restore to running, " + mib + " MiB";
            for (int r = 0; r < runs; r++) {
                stratus(image, mib, work.resolve("stratus-" + mib + "-" + r), samples, snap, restore);
                qemu(image, mib, work.resolve("qemu-" + mib + "-" + r), samples, snap, restore, notes);
            }
            measurements.add(samples.measurement(snap, "ms", false));
            measurements.add(samples.measurement(restore, "ms", false));
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "guests/pages.c: every page above 4 MiB written, then idle; 1 vCPU");
        setup.put("stratus", "pause + snapshot (memory.bin with zero pages as holes, fsync'd, + state.bin);"
                + " restore = VirtualMachine.restore (memory file mapped lazily) + start, in this JVM");
        setup.put("qemu", "stop + migrate to exec:cat > file (no fsync); restore = migrate-incoming in a QEMU"
                + " started with -incoming defer (its start not counted) + cont, until running");
        setup.put("page cache", "warm: the snapshot was just written on this host, as in a local restore");
        return new BenchReport("snapshot", setup, measurements, notes);
    }

    private static void stratus(Path image, int mib, Path dir, Samples samples, String snap, String restore)
            throws Exception {
        VmConfig config = VmConfig.builder(image).name("snapbench").memoryMiB(mib).noBalloon().build();
        ConsoleBuffer console = new ConsoleBuffer(4096);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            if (console.await(FILLED, LIMIT).isEmpty()) {
                throw new IllegalStateException("pages guest did not fill its memory: " + console.text());
            }
            long t0 = System.nanoTime();
            vm.pause();
            vm.snapshot(dir);
            samples.add(snap, BenchReport.STRATUS, (System.nanoTime() - t0) / 1e6);
        }
        long t1 = System.nanoTime();
        try (VirtualMachine vm = VirtualMachine.restore(dir, new ConsoleBuffer(4096))) {
            vm.start();
            samples.add(restore, BenchReport.STRATUS, (System.nanoTime() - t1) / 1e6);
            if (vm.awaitExit(Duration.ofMillis(200)).isPresent()) {
                throw new IllegalStateException("restored guest ended: " + vm.awaitExit());
            }
        }
        deleteTree(dir);
    }

    private static List<String> qemuCommand(Path image, int mib, Path qmp, boolean incoming) {
        GuestSpec guest = new GuestSpec(image, null, "", mib, 1, List.of());
        List<String> c = new ArrayList<>(Qemu.command(guest));
        c.addAll(List.of("-qmp", "unix:" + qmp + ",server=on,wait=off"));
        if (incoming) {
            c.addAll(List.of("-incoming", "defer"));
        }
        return c;
    }

    private static void qemu(Path image, int mib, Path dir, Samples samples, String snap, String restore,
                             List<String> notes) throws Exception {
        Files.createDirectories(dir);
        Path file = dir.resolve("state");
        Path qmpA = dir.resolve("a.qmp");
        try (ProcessGuest source = ProcessGuest.start(BenchReport.PEER, qemuCommand(image, mib, qmpA, false))) {
            source.await("STRATUS-PAGES-FILLED", LIMIT);
            try (Qmp qmp = Qmp.connect(qmpA, LIMIT)) {
                long t0 = System.nanoTime();
                qmp.execute("stop");
                qmp.execute("migrate", "{\"uri\":\"exec:cat > " + file + "\"}");
                if (!awaitStatus(qmp, "query-migrate", "completed", "failed")) {
                    notes.add("qemu " + mib + " MiB: migration to file failed");
                    return;
                }
                samples.add(snap, BenchReport.PEER, (System.nanoTime() - t0) / 1e6);
            }
        }
        Path qmpB = dir.resolve("b.qmp");
        try (ProcessGuest target = ProcessGuest.start(BenchReport.PEER, qemuCommand(image, mib, qmpB, true));
             Qmp qmp = Qmp.connect(qmpB, LIMIT)) {
            long t1 = System.nanoTime();
            qmp.execute("migrate-incoming", "{\"uri\":\"exec:cat " + file + "\"}");
            if (!awaitStatus(qmp, "query-migrate", "completed", "failed")) {
                notes.add("qemu " + mib + " MiB: incoming migration failed");
                return;
            }
            qmp.execute("cont");
            if (!awaitStatus(qmp, "query-status", "running", "internal-error")) {
                notes.add("qemu " + mib + " MiB: restored guest did not run");
                return;
            }
            samples.add(restore, BenchReport.PEER, (System.nanoTime() - t1) / 1e6);
        } finally {
            deleteTree(dir);
        }
    }

    /** Polls {@code query} until its "status" is {@code done} (true) or {@code failed} (false). */
    private static boolean awaitStatus(Qmp qmp, String query, String done, String failed) throws Exception {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            String status = Qmp.string(qmp.execute(query), "status");
            if (status.equals(done)) {
                return true;
            }
            if (status.equals(failed)) {
                return false;
            }
            Thread.sleep(1);
        }
        return false;
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
