package io.stratus.bench;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.memory.HostPageFlags;
import io.stratus.kvm.memory.KsmHost;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Host memory used by N identical guests with KSM merging off and on, once the scanner has
 * settled. Host memory is counted the same way for both VMMs: the distinct host page frames
 * behind all the guests' RAM, from /proc/PID/pagemap (RSS would count a merged page once per
 * guest). Merging is switched per VMM (Stratus: {@code VmConfig.mergeableMemory}; QEMU:
 * {@code -machine mem-merge=on|off}) with the scanner running throughout.
 */
public final class KsmBenchmark {
    private static final long MIB = 1L << 20;
    private static final Duration LIMIT = Duration.ofSeconds(180);

    private KsmBenchmark() {
    }

    public static BenchReport run(java.nio.file.Path guests, int count, int memoryMiB) throws Exception {
        java.nio.file.Path image = guests.resolve("pages.elf");
        KsmHost ksm = KsmHost.system();
        if (!ksm.isAvailable()) {
            throw new IllegalStateException("this host's kernel has no KSM (/sys/kernel/mm/ksm)");
        }
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        String off = "host memory, " + count + " guests, merging off";
        String on = "host memory, " + count + " guests, merging on";
        String share = "merging on: share of summed guest memory";
        String settle = "scanner settled after";
        double summed = (double) count * memoryMiB;
        try (KsmHost.SettingsOverride ignored = ksm.override(new KsmHost.Settings(1, 20_000, 10))) {
            for (boolean merge : new boolean[] {false, true}) {
                Result s = stratus(image, count, memoryMiB, merge, ksm);
                Result q = qemu(image, count, memoryMiB, merge, ksm);
                samples.add(merge ? on : off, BenchReport.STRATUS, s.frames * 4096.0 / MIB);
                samples.add(merge ? on : off, BenchReport.PEER, q.frames * 4096.0 / MIB);
                if (merge) {
                    samples.add(share, BenchReport.STRATUS, 100 * s.frames * 4096.0 / MIB / summed);
                    samples.add(share, BenchReport.PEER, 100 * q.frames * 4096.0 / MIB / summed);
                    samples.add(settle, BenchReport.STRATUS, s.settleSeconds);
                    samples.add(settle, BenchReport.PEER, q.settleSeconds);
                }
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guests", count + " x guests/pages.c, " + memoryMiB + " MiB, 1 vCPU: every page above 4 MiB"
                + " written with the same content in every guest, then idle");
        setup.put("host memory", "distinct host page frames behind all guests' RAM (pagemap), after the KSM scanner"
                + " settled (pages_sharing unchanged over a full scan)");
        setup.put("ksm", "run=1 pages_to_scan=20000 sleep_millisecs=10 for the run, previous settings restored after");
        setup.put("stratus", "all guests in this JVM");
        setup.put("qemu", "one process per guest, -machine mem-merge=on|off");
        return new BenchReport("ksm", setup, List.of(samples.measurement(off, "MiB", false),
                samples.measurement(on, "MiB", false), samples.measurement(share, "%", false),
                samples.measurement(settle, "s", false)), notes);
    }

    private record Result(long frames, double settleSeconds) {
    }

    private static Result stratus(java.nio.file.Path image, int count, int memoryMiB, boolean merge, KsmHost ksm)
            throws Exception {
        List<VirtualMachine> vms = new ArrayList<>();
        HostPageFlags flags = HostPageFlags.ofThisProcess();
        try {
            for (int i = 0; i < count; i++) {
                ConsoleBuffer console = new ConsoleBuffer(4096);
                VirtualMachine vm = VirtualMachine.create(VmConfig.builder(image).name("ksm" + i).memoryMiB(memoryMiB)
                        .noBalloon().mergeableMemory(merge).build(), console);
                vms.add(vm);
                vm.start();
                if (console.await(Pattern.compile("STRATUS-PAGES-FILLED"), LIMIT).isEmpty()) {
                    throw new IllegalStateException("pages guest " + i + " did not fill: " + console.text());
                }
            }
            // With merging off no guest page is in a KSM scan, so there is nothing to wait for.
            double settled = merge ? settle(ksm) : Double.NaN;
            List<long[]> all = new ArrayList<>();
            for (VirtualMachine vm : vms) {
                all.add(vm.memory().hostFrames(flags));
            }
            return new Result(distinct(all), settled);
        } finally {
            for (VirtualMachine vm : vms) {
                vm.close();
            }
        }
    }

    private static Result qemu(java.nio.file.Path image, int count, int memoryMiB, boolean merge, KsmHost ksm)
            throws Exception {
        List<ProcessGuest> processes = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                List<String> cmd = new ArrayList<>(Qemu.command(new GuestSpec(image, null, "", memoryMiB, 1, List.of())));
                int m = cmd.indexOf("-M");
                cmd.set(m + 1, cmd.get(m + 1) + ",mem-merge=" + (merge ? "on" : "off"));
                ProcessGuest guest = ProcessGuest.start(BenchReport.PEER, cmd);
                processes.add(guest);
                guest.await("STRATUS-PAGES-FILLED", LIMIT);
            }
            // With merging off no guest page is in a KSM scan, so there is nothing to wait for.
            double settled = merge ? settle(ksm) : Double.NaN;
            List<long[]> all = new ArrayList<>();
            long guestBytes = memoryMiB * MIB;
            for (ProcessGuest p : processes) {
                Smaps.Mapping ram = Smaps.of(p.pid()).guestRam(guestBytes);
                all.add(HostPageFlags.ofProcess(p.pid()).frames(ram.start(), ram.size()));
            }
            return new Result(distinct(all), settled);
        } finally {
            for (ProcessGuest p : processes) {
                p.close();
            }
        }
    }

    /** Waits until KSM's pages_sharing holds still over a full scan; returns the seconds it took. */
    private static double settle(KsmHost ksm) throws InterruptedException {
        long start = System.nanoTime();
        long scans = ksm.figures().fullScans();
        long sharing = -1;
        while (System.nanoTime() - start < LIMIT.toNanos()) {
            Thread.sleep(100);
            KsmHost.Figures f = ksm.figures();
            if (f.fullScans() >= scans + 2) {
                if (f.pagesSharing() == sharing) {
                    return (System.nanoTime() - start) / 1e9;
                }
                sharing = f.pagesSharing();
                scans = f.fullScans();
            }
        }
        return Double.NaN;
    }

    private static long distinct(List<long[]> frameSets) {
        long[] all = frameSets.stream().flatMapToLong(Arrays::stream).toArray();
        Arrays.sort(all);
        long n = 0;
        for (int i = 0; i < all.length; i++) {
            if (i == 0 || all[i] != all[i - 1]) {
                n++;
            }
        }
        return n;
    }
}
