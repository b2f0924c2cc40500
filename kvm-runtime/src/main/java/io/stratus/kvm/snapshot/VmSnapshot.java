package io.stratus.kvm.snapshot;

import io.stratus.kvm.devices.SerialState;
import io.stratus.kvm.virtio.VirtioTransportState;
import java.util.List;

/**
 * The state file of a snapshot: what the guest was (its configuration) and where it was (vCPUs,
 * interrupt controllers, timers, clock, devices). Guest RAM is beside it in {@code memory.bin}.
 *
 * @param kernel the kernel it was booted from (informational: restore does not reload it)
 * @param balloonStatsMillis the balloon's statistics interval, or 0 for a guest without a balloon
 * @param entropy whether the guest has a virtio-rng device
 * @param volumeSlots how many volume slots it has; each slot's transport state names the volume
 *                    in it (not its data, which stays on its NBD server)
 * @param disks in guest order; restore reattaches the same files
 */
public record VmSnapshot(String name, String kernel, String cmdline, long memoryBytes, int vcpus,
                         boolean mergeableMemory, long balloonStatsMillis, boolean entropy, int volumeSlots,
                         List<Disk> disks,
                         List<Net> nets,
                         List<VcpuState> vcpuStates,
                         MachineState machine, SerialState serial, List<VirtioTransportState> transports) {

    /** A disk as the guest had it attached. */
    public record Disk(String path, boolean readOnly, String id) {
    }

    /** A network device: its TAP (opened again on restore) and MAC address. */
    public record Net(String tap, String mac) {
    }

    public VmSnapshot {
        disks = List.copyOf(disks);
        nets = List.copyOf(nets);
        vcpuStates = List.copyOf(vcpuStates);
        transports = List.copyOf(transports);
    }
}
