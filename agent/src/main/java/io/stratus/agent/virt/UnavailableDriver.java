package io.stratus.agent.virt;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/** A host where no driver works: it reports itself disabled with the reason and runs nothing. */
final class UnavailableDriver implements HypervisorDriver {
    private final DriverCapabilities capabilities;

    UnavailableDriver(String reason) {
        this.capabilities = new DriverCapabilities("none", "", "", Set.of(), 0, 0, false, Optional.of(reason));
    }

    @Override
    public DriverCapabilities capabilities() {
        return capabilities;
    }

    @Override
    public VirtualGuest spawn(GuestSpec spec, ConsoleOutput console) {
        throw unavailable();
    }

    @Override
    public VirtualGuest restore(String instanceId, Path snapshotDir, ConsoleOutput console, boolean paused) {
        throw unavailable();
    }

    @Override
    public Optional<VirtualGuest> reattach(String instanceId, Path instanceDir, long memoryMiB,
                                           ConsoleOutput console) {
        return Optional.empty();
    }

    @Override
    public void exportDisk(Optional<VirtualGuest> running, GuestSpec.Disk disk, Path target) {
        throw unavailable();
    }

    private HypervisorException unavailable() {
        return new HypervisorException("HypervisorUnavailable", capabilities.unusable().orElseThrow());
    }
}
