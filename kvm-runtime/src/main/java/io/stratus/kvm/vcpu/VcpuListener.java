package io.stratus.kvm.vcpu;

import io.stratus.kvm.VmmException;

/** How a vCPU thread learns that it should stop, and reports why it stopped on its own. */
public interface VcpuListener {
    /** Whether the VM still wants its vCPUs to run. */
    boolean running();

    /** The vCPU triple-faulted (on a PC: the CPU reset). */
    void tripleFault(int vcpu);

    /** KVM reported a platform event ({@code KVM_SYSTEM_EVENT_*}). */
    void systemEvent(int vcpu, int type);

    /**
     * Answer to {@link Vcpu#probeHalted()}: whether this vCPU can no longer run without outside
     * help (halted with interrupts disabled, or never started by the guest).
     */
    void haltProbed(int vcpu, boolean stuck);

    /** The vCPU cannot go on. */
    void failed(int vcpu, VmmException error);
}
