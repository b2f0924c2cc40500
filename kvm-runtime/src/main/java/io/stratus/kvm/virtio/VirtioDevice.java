package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A virtio device behind a transport: what it offers, its configuration space, and what it does
 * once the driver has started it. The transport owns feature negotiation and queue set-up.
 */
public interface VirtioDevice {
    /** Virtio device type (2: block, 1: network, 5: balloon). */
    int deviceType();

    /** A short name for logs and thread names. */
    String name();

    /** Features the device offers, VIRTIO_F_VERSION_1 included. */
    long offeredFeatures();

    /** How many virtqueues the device has. */
    int queueCount();

    /** The largest size each queue may have. */
    int queueMaxSize();

    /** A read of {@code data.remaining()} bytes of configuration space at {@code offset}; bytes beyond it read 0. */
    void readConfig(long offset, ByteBuffer data);

    /**
     * A {@link #readConfig} of a device whose configuration space is {@code config}: the bytes at
     * {@code offset}, and 0 for any the driver reads beyond it (or before it).
     */
    static void readConfigBytes(byte[] config, long offset, ByteBuffer data) {
        for (int i = 0; i < data.remaining(); i++) {
            long at = offset + i;
            data.put(data.position() + i, at >= 0 && at < config.length ? config[(int) at] : 0);
        }
    }

    /**
     * ConfigGeneration: changes whenever the configuration space changes, so that a driver reading
     * it across several accesses can tell it read a consistent whole.
     */
    default int configGeneration() {
        return 0;
    }

    /** A write into configuration space; devices ignore fields that are read-only. */
    void writeConfig(long offset, ByteBuffer data);

    /**
     * The driver set DRIVER_OK: start serving {@code queues}. {@code notifiers} are signalled when
     * the guest notifies the queue of the same index (ioeventfd, or the transport on an MMIO
     * exit).
     */
    void activate(GuestMemory memory, long ackedFeatures, List<VirtQueue> queues, List<EventFd> notifiers,
                  VirtioInterrupt interrupt, Runnable needsReset);

    /** The driver reset the device: stop serving the queues and forget them. Blocks until stopped. */
    void reset();

    /** Stop serving the queues, finishing requests in progress, but keep them: the VM is pausing. */
    void pause();

    /** Serve the queues again after {@link #pause()}, including what arrived meanwhile. */
    void resume();

    /** Device-specific state a snapshot keeps beyond the queues (for example a balloon's target). */
    default byte[] saveState() {
        return new byte[0];
    }

    /** Restores {@link #saveState()} into a fresh device, before it is activated. */
    default void restoreState(byte[] state) {
    }
}
