package io.stratus.kvm.virtio;

import io.stratus.kvm.devices.InterruptLine;
import java.util.concurrent.atomic.AtomicInteger;

/** The InterruptStatus register of a virtio-mmio device and the line that raises it. */
public final class VirtioInterrupt {
    /** A used buffer notification. */
    public static final int USED_BUFFER = 1;
    /** A configuration change (also how DEVICE_NEEDS_RESET is announced). */
    public static final int CONFIG_CHANGE = 2;

    private final AtomicInteger status = new AtomicInteger();
    private final InterruptLine line;

    public VirtioInterrupt(InterruptLine line) {
        this.line = line;
    }

    /** Sets {@code bits} in InterruptStatus and raises the interrupt. */
    public void raise(int bits) {
        status.getAndUpdate(s -> s | bits);
        line.trigger();
    }

    /** InterruptStatus as the driver reads it. */
    public int status() {
        return status.get();
    }

    /** InterruptACK: the driver handled {@code bits}. */
    public void acknowledge(int bits) {
        status.getAndUpdate(s -> s & ~bits);
    }

    void clear() {
        status.set(0);
    }

    void restore(int bits) {
        status.set(bits);
    }
}
