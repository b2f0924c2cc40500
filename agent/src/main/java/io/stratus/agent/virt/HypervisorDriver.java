package io.stratus.agent.virt;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The one seam between the agent and a hypervisor, after Nova's {@code ComputeDriver}: the agent
 * decides what should run and records it; a driver makes guests run. Platform handles stay inside
 * the driver: the rest of the agent sees {@link VirtualGuest}s, {@link GuestExit}s and
 * {@link HypervisorException}s.
 */
public interface HypervisorDriver {
    /** What this driver offers on this host, found when it was chosen. */
    DriverCapabilities capabilities();

    /**
     * Boots a guest and returns once it runs. The files the spec names are read before this
     * returns: the caller may let go of them afterwards.
     *
     * @throws HypervisorException the guest cannot be built or started (the code says why)
     */
    VirtualGuest spawn(GuestSpec spec, ConsoleOutput console);

    /**
     * Continues a guest that {@link VirtualGuest#snapshot} saved in {@code snapshotDir}, paused
     * when {@code paused}.
     */
    VirtualGuest restore(String instanceId, Path snapshotDir, ConsoleOutput console, boolean paused);

    /**
     * The instance's guest that still runs from before the agent restarted, for drivers whose
     * guests outlive the agent ({@link DriverCapabilities#guestsOutliveAgent()}); empty when there
     * is none.
     */
    Optional<VirtualGuest> reattach(String instanceId, Path instanceDir, long memoryMiB, ConsoleOutput console);

    /**
     * Writes {@code disk} as its guest sees it (a qcow2 layer and the image under it, flattened) to
     * {@code target}, a new raw image, for an image of the instance (Nova's snapshot). A
     * {@code running} guest of this driver that uses the disk is paused for the copy, so that the
     * copy is one moment of the disk, and let run again afterwards unless it was paused before.
     *
     * @throws HypervisorException the disk cannot be read or the copy written
     */
    void exportDisk(Optional<VirtualGuest> running, GuestSpec.Disk disk, Path target)
            throws IOException, InterruptedException;

    /**
     * Builds the guest of {@code spec}, not running, for a live migration from a host of the same
     * driver to stream into (Nova's {@code pre_live_migration}). Only drivers whose capabilities
     * have {@link DriverCapabilities.Traits#LIVE_MIGRATION} can.
     *
     * @throws HypervisorException the guest cannot be built here, or NotSupported
     */
    default IncomingGuest incoming(GuestSpec spec, ConsoleOutput console) {
        throw liveMigrationUnsupported();
    }

    /**
     * Sends the running {@code guest} over {@code pipe} to a host of the same driver (Nova's
     * {@code live_migration}), blocking until the guest runs there or the migration gave up.
     * Whatever fails, the guest runs on here, as it ran before.
     *
     * @return how it ended: completed (stop the guest here: it runs on the target) or aborted
     * @throws HypervisorException the stream broke or the target failed; the guest runs here
     * @throws InterruptedException the migration was aborted from outside; the guest runs here
     */
    default MigrationOutcome migrate(VirtualGuest guest, MigrationPipe pipe, MigrationLimits limits)
            throws InterruptedException {
        throw liveMigrationUnsupported();
    }

    private HypervisorException liveMigrationUnsupported() {
        return new HypervisorException("NotSupported", "the " + capabilities().name()
                + " hypervisor driver does not live-migrate guests");
    }
}
