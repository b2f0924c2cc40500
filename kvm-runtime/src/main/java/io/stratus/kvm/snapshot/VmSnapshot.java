package io.stratus.kvm.snapshot;

/**
 * The state file of a snapshot: what the guest was ({@link SnapshotConfig}, the configuration it
 * is built from again) and where it was ({@link GuestState}: vCPUs, interrupt controllers,
 * timers, clock, devices). Guest RAM is beside it in {@code memory.bin}.
 */
public record VmSnapshot(SnapshotConfig config, GuestState state) {
    public VmSnapshot {
        if (config.vcpus() != state.vcpus().size()) {
            throw new IllegalArgumentException(config.vcpus() + " vCPUs but " + state.vcpus().size() + " vCPU states");
        }
    }
}
