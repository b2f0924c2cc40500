package io.stratus.kvm.devices;

/** An edge-triggered interrupt into the guest (an irqfd on the VM's in-kernel irqchip). */
@FunctionalInterface
public interface InterruptLine {
    void trigger();
}
