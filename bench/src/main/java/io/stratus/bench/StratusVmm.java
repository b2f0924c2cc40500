package io.stratus.bench;

import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmExit;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Stratus' VMM inside the benchmark's own JVM, as the agent runs guests: the clock starts when
 * the VM is asked to be created, so it counts set-up and boot but not the JVM's own start. A disk
 * over NBD is a volume slot filled (through kvm-runtime's NBD client) before the guest starts, as
 * the agent attaches volumes; the slots come after the other disks, so NBD disks go last.
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
        List<GuestSpec.Disk> overNbd = guest.disks().stream().filter(d -> d.nbdSocket().isPresent()).toList();
        boolean nbdSeen = false;
        for (GuestSpec.Disk d : guest.disks()) {
            nbdSeen |= d.nbdSocket().isPresent();
            if (d.nbdSocket().isEmpty()) {
                if (nbdSeen) {
                    throw new IllegalArgumentException("disks over NBD must come after the local ones: " + guest.disks());
                }
                b.disk(DiskConfig.of(d.path(), d.readOnly()));
            }
        }
        b.volumeSlots(overNbd.size());
        long start = System.nanoTime();
        ConsoleTimeline console = new ConsoleTimeline(start);
        try (VirtualMachine vm = VirtualMachine.create(b.build(), console)) {
            for (int i = 0; i < overNbd.size(); i++) {
                GuestSpec.Disk d = overNbd.get(i);
                vm.volumeSlots().get(i).fill(NbdVolume.unix("bench-volume-" + i, d.nbdSocket().get().toString(),
                        GuestSpec.Disk.NBD_EXPORT, d.readOnly()));
            }
            vm.start();
            Optional<VmExit> exit = vm.awaitExit(limit);
            double at = exit.isPresent() ? (System.nanoTime() - start) / 1e9 : Double.NaN;
            return new GuestRun(console, at, exit.map(e -> e.reason() + " (" + e.detail() + ")")
                    .orElse("stopped after " + limit));
        }
    }
}
