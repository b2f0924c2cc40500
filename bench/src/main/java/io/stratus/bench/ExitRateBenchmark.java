package io.stratus.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exits per second: the exitloop test guest writes N times to a port (from CPL0) and N times
 * to MMIO (from CPL3) that no device claims, each a full exit to the VMM; the host times the
 * console markers around each loop. The guest's work is the same on every VMM, so the rate
 * measures the VMM's exit path, not this host's emulation of guest kernel code.
 */
public final class ExitRateBenchmark {
    private ExitRateBenchmark() {
    }

    public static BenchReport run(Path guests, List<Vmm> vmms, int runs, long iterations, Duration limit)
            throws Exception {
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        GuestSpec guest = new GuestSpec(guests.resolve("exitloop.elf"), null, "exits=" + iterations, 64, 1, List.of());
        for (int run = 0; run < runs; run++) {
            for (Vmm vmm : vmms) {
                Vmm.GuestRun r = vmm.run(guest, limit);
                ConsoleTimeline c = r.console();
                double pio = iterations / (c.secondsUntil("EXITS-PIO-END") - c.secondsUntil("EXITS-PIO-BEGIN"));
                double mmio = iterations / (c.secondsUntil("EXITS-MMIO-END") - c.secondsUntil("EXITS-MMIO-BEGIN"));
                if (Double.isNaN(pio) || Double.isNaN(mmio)) {
                    notes.add(vmm.name() + " run " + run + " incomplete (" + r.outcome() + "): " + c.tail(3));
                }
                samples.add("port writes (CPL0)", vmm.name(), pio);
                samples.add("MMIO writes (CPL3)", vmm.name(), mmio);
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "guests/exitloop.c: " + iterations + " writes per loop, 1 vCPU, 64 MiB");
        setup.put("runs", Integer.toString(runs));
        return new BenchReport("exits", setup, List.of(
                samples.measurement("port writes (CPL0)", "exits/s", true),
                samples.measurement("MMIO writes (CPL3)", "exits/s", true)), notes);
    }
}
