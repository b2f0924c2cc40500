package io.stratus.kvm.vm;

import io.stratus.kvm.VmmException;
import io.stratus.kvm.snapshot.GuestState;
import io.stratus.kvm.snapshot.MachineState;
import io.stratus.kvm.snapshot.SnapshotConfig;
import io.stratus.kvm.snapshot.SnapshotException;
import io.stratus.kvm.snapshot.VcpuState;
import io.stratus.kvm.snapshot.VmSnapshot;
import io.stratus.kvm.sys.KvmCapability;
import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.VcpuFd;
import io.stratus.kvm.sys.VmFd;
import io.stratus.kvm.virtio.VirtioMmioTransport;
import io.stratus.kvm.virtio.VirtioTransportState;
import io.stratus.kvm.virtio.block.VolumeSlotState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Moves a paused VM's state into a {@link VmSnapshot} and back into a freshly assembled VM, in
 * the order KVM needs it restored: special registers before general ones, the local APIC before
 * the MSRs that depend on its mode, events and MP state last; the irqchips, PIT and kvm-clock after
 * the vCPUs exist.
 */
final class SnapshotState {
    /** IA32_ARCH_CAPABILITIES: readable, but KVM refuses writes of it on some hosts. */
    private static final int MSR_ARCH_CAPABILITIES = 0x10a;

    private SnapshotState() {
    }

    static VmSnapshot capture(VirtualMachine vm) {
        boolean xsave = vm.kvm().checkExtension(KvmCapability.XSAVE) > 0;
        boolean xcrs = vm.kvm().checkExtension(KvmCapability.XCRS) > 0;
        boolean debugRegs = vm.kvm().checkExtension(KvmCapability.DEBUGREGS) > 0;
        int[] msrIndices = Arrays.stream(vm.kvm().msrIndexList()).filter(i -> i != MSR_ARCH_CAPABILITIES).toArray();
        List<VcpuState> vcpus = new ArrayList<>();
        for (VcpuFd fd : vm.vcpuFds()) {
            vcpus.add(new VcpuState(fd.id(), fd.getRegs(), fd.getSregs(), xsave,
                    xsave ? fd.getXsave() : fd.getFpuState(), xcrs ? fd.getXcrs() : new byte[0],
                    readMsrs(fd, msrIndices), fd.getLapic(), fd.getMpState(), fd.getVcpuEvents(),
                    debugRegs ? fd.getDebugRegs() : new byte[0]));
        }
        VmFd vmFd = vm.vmFd();
        MachineState machine = new MachineState(List.of(vmFd.getIrqchip(VmFd.IRQCHIP_PIC_MASTER),
                vmFd.getIrqchip(VmFd.IRQCHIP_PIC_SLAVE), vmFd.getIrqchip(VmFd.IRQCHIP_IOAPIC)),
                vmFd.getPit2(), vmFd.getClock());
        VmConfig c = vm.config();
        List<SnapshotConfig.Disk> disks = new ArrayList<>();
        for (int i = 0; i < c.disks().size(); i++) {
            DiskConfig d = c.disks().get(i);
            // A disk on an NBD export keeps which volume and the size the guest knows, not the data:
            // that stays on the server, where the restore connects again.
            disks.add(d.onNbd()
                    ? new SnapshotConfig.Disk(d.path().toString(), d.readOnly(), d.id(), new VolumeSlotState(d.volume(),
                            vm.devices().blockDevices().get(i).backend().capacity()))
                    : new SnapshotConfig.Disk(d.path().toAbsolutePath().toString(), d.readOnly(), d.id()));
        }
        List<SnapshotConfig.Net> nets = c.nets().stream().map(n -> new SnapshotConfig.Net(n.tap(), n.mac())).toList();
        List<VirtioTransportState> transports = vm.transports().stream().map(VirtioMmioTransport::save).toList();
        SnapshotConfig config = new SnapshotConfig(c.name(), c.kernel().toString(), vm.effectiveCmdline(),
                c.memoryBytes(), c.vcpus(), c.mergeableMemory(),
                c.balloonStatsInterval().map(Duration::toMillis).orElse(0L), c.entropy(), c.volumeSlots(), disks, nets);
        return new VmSnapshot(config, new GuestState(vcpus, machine, vm.serial().save(), transports));
    }

    /** Reads every MSR KVM lists; one it cannot read for this vCPU is skipped, not fatal. */
    private static List<MsrEntry> readMsrs(VcpuFd fd, int[] indices) {
        List<MsrEntry> out = new ArrayList<>();
        int next = 0;
        while (next < indices.length) {
            List<MsrEntry> got = fd.getMsrs(Arrays.copyOfRange(indices, next, indices.length));
            out.addAll(got);
            // KVM stops at the first MSR it cannot read: skip that one and go on.
            next += got.size() + 1;
        }
        return out;
    }

    static void apply(VirtualMachine vm, VmSnapshot snapshot) {
        List<VcpuFd> fds = vm.vcpuFds();
        GuestState state = snapshot.state();
        if (state.vcpus().size() != fds.size()) {
            throw new SnapshotException("snapshot has " + state.vcpus().size() + " vCPU states for "
                    + fds.size() + " vCPUs");
        }
        if (!state.vcpus().stream().map(VcpuState::id).sorted().toList()
                .equals(java.util.stream.IntStream.range(0, fds.size()).boxed().toList())) {
            // The ids pick the vCPU each state goes to: each once, none beyond the guest's.
            throw new SnapshotException("snapshot's vCPU ids " + state.vcpus().stream().map(VcpuState::id).toList()
                    + " are not 0 to " + (fds.size() - 1) + ", each once");
        }
        if (state.transports().size() != vm.transports().size()) {
            throw new SnapshotException("snapshot has " + state.transports().size() + " virtio devices, the guest "
                    + vm.transports().size());
        }
        try {
            for (VcpuState s : state.vcpus()) {
                VcpuFd fd = fds.get(s.id());
                fd.setSregs(s.sregs());
                fd.setRegs(s.regs());
                if (s.xsave()) {
                    fd.setXsave(s.fpu());
                } else {
                    fd.setFpuState(s.fpu());
                }
                if (s.xcrs().length > 0) {
                    fd.setXcrs(s.xcrs());
                }
                fd.setLapic(s.lapic());
                fd.setMsrs(s.msrs());
                fd.setVcpuEvents(s.events());
                fd.setMpState(s.mpState());
                if (s.debugRegs().length > 0) {
                    fd.setDebugRegs(s.debugRegs());
                }
            }
            VmFd vmFd = vm.vmFd();
            for (byte[] chip : state.machine().irqchips()) {
                vmFd.setIrqchip(chip);
            }
            vmFd.setPit2(state.machine().pit());
            vmFd.setClock(state.machine().clockNanos());
            vm.serial().restore(state.serial());
            for (int i = 0; i < state.transports().size(); i++) {
                vm.transports().get(i).restore(state.transports().get(i));
            }
        } catch (VmmException | IllegalArgumentException e) {
            throw new SnapshotException("snapshot state does not fit this guest: " + e.getMessage(), e);
        }
    }
}
