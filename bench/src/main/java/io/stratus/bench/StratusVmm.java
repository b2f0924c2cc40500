package io.stratus.bench;

import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmExit;
import java.time.Duration;
import java.util.Optional;

/**
 * Stratus' VMM inside the benchmark's own JVM, as the agent runs guests: the clock starts when
 * the VM is asked to be created, so it counts set-up and boot but not the JVM's own start.
 */
public final class StratusVmm implements Vmm {
    @Override
    public String name() {
        return "stratus";
    }

    @Override
    public GuestRun run(GuestSpec guest, Duration limit) throws Exception {
        VmConfig.Builder b = VmConfig.builder(guest.kernel()).name("bench").initrd(guest.initrd())
                .cmdline(guest.cmdline()).memoryMiB(guest.memoryMiB()).vcpus(guest.vcpus());
        for (GuestSpec.Disk d : guest.disks()) {
            b.disk(DiskConfig.of(d.path(), d.readOnly()));
        }
        long start = System.nanoTime();
        ConsoleTimeline console = new ConsoleTimeline(start);
        try (VirtualMachine vm = VirtualMachine.create(b.build(), console)) {
            vm.start();
            Optional<VmExit> exit = vm.awaitExit(limit);
            double at = exit.isPresent() ? (System.nanoTime() - start) / 1e9 : Double.NaN;
            return new GuestRun(console, at, exit.map(e -> e.reason() + " (" + e.detail() + ")")
                    .orElse("stopped after " + limit));
        }
    }
}
