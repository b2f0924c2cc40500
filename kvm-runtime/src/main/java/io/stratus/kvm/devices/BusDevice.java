package io.stratus.kvm.devices;

import java.nio.ByteBuffer;

/**
 * A device on a port or MMIO bus. Calls come from vCPU threads, possibly several at once; a
 * device guards its own state.
 */
public interface BusDevice {
    /**
     * A guest read at {@code offset} from the device's base: fill {@code data} (little-endian,
     * {@code data.remaining()} bytes, at most 8).
     */
    void read(long offset, ByteBuffer data);

    /** A guest write of {@code data.remaining()} bytes at {@code offset} from the device's base. */
    void write(long offset, ByteBuffer data);
}
