package io.stratus.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * VMM memory overhead, measured as Firecracker does: the process's resident memory minus what is
 * resident in the guest RAM mappings. Idle test guests; for Stratus, 1 and then N guests in one
 * JVM (the agent's case), for QEMU 1 and N processes.
 */
public final class MemoryBenchmark {
    static final int MEMORY_MIB = 64;

    private MemoryBenchmark() {
    }

    /**
     * @param javaCommand the java launcher and options for the Stratus host process, class path included
     */
    public static BenchReport run(Path guests, List<String> javaCommand, int guestsMax) throws Exception {
        Path idle = guests.resolve("idle.elf");
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        Map<Integer, Double> stratus = new HashMap<>();
        Map<Integer, Double> qemu = new HashMap<>();
        stratus.put(0, stratusOverhead(javaCommand, idle, 0, notes));
        for (int n : new int[] {1, guestsMax}) {
            stratus.put(n, stratusOverhead(javaCommand, idle, n, notes));
            qemu.put(n, qemuOverhead(idle, n, notes));
        }
        samples.add("overhead, one guest", BenchReport.STRATUS, stratus.get(1) / (1 << 20));
        samples.add("overhead, one guest", BenchReport.PEER, qemu.get(1) / (1 << 20));
        // The VMM is a library in a JVM that runs anyway (the host agent): what the first guest adds.
        samples.add("first guest in a running JVM", BenchReport.STRATUS, (stratus.get(1) - stratus.get(0)) / (1 << 20));
        samples.add("first guest in a running JVM", BenchReport.PEER, qemu.get(1) / (1 << 20));
        samples.add("overhead per extra guest", BenchReport.STRATUS,
                (stratus.get(guestsMax) - stratus.get(1)) / (guestsMax - 1) / (1 << 20));
        samples.add("overhead per extra guest", BenchReport.PEER,
                (qemu.get(guestsMax) - qemu.get(1)) / (guestsMax - 1) / (1 << 20));
        samples.add("overhead, " + guestsMax + " guests", BenchReport.STRATUS, stratus.get(guestsMax) / (1 << 20));
        samples.add("overhead, " + guestsMax + " guests", BenchReport.PEER, qemu.get(guestsMax) / (1 << 20));
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "guests/idle.c (halts with interrupts on), " + MEMORY_MIB + " MiB, 1 vCPU");
        setup.put("stratus", "all guests in one JVM: " + String.join(" ", javaCommand.subList(1, javaCommand.size() - 2)));
        setup.put("qemu", "one process per guest");
        setup.put("overhead", "RSS minus RSS of the guest RAM mappings, as Firecracker measures it");
        setup.put("first guest in a running JVM", "Stratus: overhead with 1 guest minus the same JVM with none"
                + " (JVM started, nothing loaded); QEMU: the whole process");
        return new BenchReport("memory", setup, List.of(
                samples.measurement("overhead, one guest", "MiB", false),
                samples.measurement("first guest in a running JVM", "MiB", false),
                samples.measurement("overhead per extra guest", "MiB", false),
                samples.measurement("overhead, " + guestsMax + " guests", "MiB", false)), notes);
    }

    private static double stratusOverhead(List<String> javaCommand, Path idle, int n, List<String> notes)
            throws Exception {
        List<String> cmd = new ArrayList<>(javaCommand);
        cmd.addAll(List.of(MemoryHost.class.getName(), Integer.toString(n), idle.toString(),
                Integer.toString(MEMORY_MIB)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            List<long[]> guestMappings = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.equals("READY")) {
                if (line.startsWith("GUEST ")) {
                    String[] parts = line.split(" ");
                    guestMappings.add(new long[] {Long.parseUnsignedLong(parts[1], 16), Long.parseLong(parts[2])});
                } else if (line.startsWith("FAILED")) {
                    notes.add("stratus: " + line);
                    return Double.NaN;
                }
            }
            // Let start-up allocations settle (JIT, class loading) before measuring.
            Thread.sleep(2000);
            Smaps smaps = Smaps.of(p.pid());
            long guest = 0;
            for (Smaps.Mapping m : smaps.mappings()) {
                for (long[] g : guestMappings) {
                    if (m.start() >= g[0] && m.start() < g[0] + g[1]) {
                        guest += m.rss();
                    }
                }
            }
            return smaps.totalRss() - guest;
        } finally {
            p.getOutputStream().close();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private static double qemuOverhead(Path idle, int n, List<String> notes) throws Exception {
        GuestSpec guest = new GuestSpec(idle, null, "", MEMORY_MIB, 1, List.of());
        List<ProcessGuest> processes = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ProcessGuest p = ProcessGuest.start(BenchReport.PEER, Qemu.command(guest));
                processes.add(p);
                if (!p.console().await("STRATUS-IDLE", Duration.ofSeconds(60).toMillis())) {
                    notes.add("qemu guest " + i + " did not start: " + p.console().tail(3));
                    return Double.NaN;
                }
            }
            Thread.sleep(2000);
            double total = 0;
            long guestBytes = (long) MEMORY_MIB << 20;
            for (ProcessGuest p : processes) {
                Smaps smaps = Smaps.of(p.pid());
                total += smaps.totalRss() - smaps.guestRam(guestBytes).rss();
            }
            return total;
        } finally {
            for (ProcessGuest p : processes) {
                p.close();
            }
        }
    }
}
