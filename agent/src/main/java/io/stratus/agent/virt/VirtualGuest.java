package io.stratus.agent.virt;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** One running guest of a driver: a boot, a restore, or an arrival by migration each make one. */
public interface VirtualGuest {
    void pause() throws InterruptedException;

    void resume();

    boolean paused();

    /** Ends the guest at once (no shutdown inside it) and frees what it held; a second call does nothing. */
    void stop();

    /**
     * Lets go of a guest that outlives the agent without ending it (the agent stops; its next
     * start {@linkplain HypervisorDriver#reattach re-attaches}). Drivers whose guests live in the
     * agent end the guest.
     */
    void detach();

    /** Waits for the guest's run to end, for whatever reason. */
    GuestExit awaitExit() throws InterruptedException;

    /** Counters of this run (since it started). */
    GuestUsage usage();

    /** The guest's RAM as the host holds it now, where the driver can tell. */
    Optional<MemoryFootprint> footprint();

    /**
     * Whether the guest has an entropy device: a live migration's target must build the same
     * devices (a guest booted before its host gave guests one has none).
     */
    boolean entropyDevice();

    /**
     * Types into the guest's serial console (its UART's receiver). Returns how many bytes the guest
     * took: a receiver whose buffer is full takes fewer, and the rest is the caller's to drop.
     *
     * @throws HypervisorException the guest's console cannot take input (its run ended)
     */
    int consoleInput(byte[] bytes, int offset, int length);

    /**
     * Calls {@code listener} each time the guest's watchdog device fires (the guest stopped feeding
     * it); the device itself does nothing more, the agent decides. A firing before a listener is
     * set is passed to it when it is. Guests without the device never call it.
     */
    default void onWatchdog(Runnable listener) {
    }

    /** Writes the paused guest to {@code dir}, for {@link HypervisorDriver#restore}. */
    void snapshot(Path dir) throws IOException, InterruptedException;

    /**
     * Fills a free volume slot with {@code volume} and tells the guest of its new disk (a
     * capacity change on a disk it already has). Attaching an attachment the guest has already
     * does nothing, so a repeated command is harmless.
     *
     * @throws HypervisorException {@code VolumeUnreachable} (the export does not answer),
     *                             {@code NoFreeDiskSlot}, {@code NotSupported}
     */
    default void attachVolume(GuestSpec.Volume volume) {
        throw new HypervisorException("NotSupported", "this hypervisor driver does not attach volumes to running"
                + " guests");
    }

    /**
     * Flushes the attachment's disk and empties its slot (the guest sees its capacity drop to 0).
     * An attachment the guest does not have is nothing to do.
     */
    default void detachVolume(String attachmentId) {
        throw new HypervisorException("NotSupported", "this hypervisor driver does not detach volumes from running"
                + " guests");
    }

    /**
     * Which of {@code attachments} each volume slot holds, in slot order ("" for an empty slot): a
     * live migration's target opens the same volumes in the same slots. Empty where the driver does
     * not live-migrate guests with volumes.
     */
    default List<String> volumeSlots(Collection<String> attachments) {
        return List.of();
    }
}
