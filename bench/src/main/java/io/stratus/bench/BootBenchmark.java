package io.stratus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Start to guest userspace (the kit's init prints its marker) and start to exit (the guest
 * powers off), for the kit's test kernel with its initramfs and a disk, on each VMM.
 */
public final class BootBenchmark {
    static final String MARKER = "STRATUS-GUEST-READY";

    private BootBenchmark() {
    }

    public static BenchReport run(Path kit, Path work, List<Vmm> vmms, int runs, int vcpus, int memoryMiB,
                                  Duration limit) throws Exception {
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            // Alternate the order so that neither VMM always runs on a warmer (or busier) host.
            List<Vmm> order = new ArrayList<>(vmms);
            if (run % 2 == 1) {
                java.util.Collections.reverse(order);
            }
            for (Vmm vmm : order) {
                Path disk = work.resolve("boot-" + vmm.name() + "-" + run + ".img");
                Files.copy(kit.resolve("disk.img"), disk, StandardCopyOption.REPLACE_EXISTING);
                GuestSpec guest = new GuestSpec(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                        "panic=-1", memoryMiB, vcpus, List.of(new GuestSpec.Disk(disk, false)));
                Vmm.GuestRun r = vmm.run(guest, limit);
                double userspace = r.console().secondsUntil(MARKER);
                if (Double.isNaN(userspace)) {
                    notes.add(vmm.name() + " run " + run + " never reached userspace (" + r.outcome() + "): "
                            + r.console().tail(3));
                }
                samples.add("start to userspace", vmm.name(), userspace);
                samples.add("start to exit", vmm.name(), r.exitSeconds());
                Files.deleteIfExists(disk);
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "kit test kernel (ELF, PVH entry), initramfs.cpio, disk.img as vda");
        setup.put("memory", memoryMiB + " MiB");
        setup.put("vcpus", Integer.toString(vcpus));
        setup.put("runs", Integer.toString(runs));
        setup.put("stratus clock", "from VirtualMachine.create() in the benchmark's JVM");
        setup.put("qemu clock", "from process start");
        return new BenchReport("boot", setup, List.of(
                samples.measurement("start to userspace", "s", false),
                samples.measurement("start to exit", "s", false)), notes);
    }

    static Path copy(Path from, Path to) throws IOException {
        return Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
}
