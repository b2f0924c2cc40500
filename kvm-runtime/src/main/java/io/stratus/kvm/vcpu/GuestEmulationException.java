package io.stratus.kvm.vcpu;

import io.stratus.kvm.VmmException;

/**
 * KVM could not emulate a guest instruction ({@code KVM_EXIT_INTERNAL_ERROR}). Carries where the
 * guest was, so that the message names the instruction.
 */
public final class GuestEmulationException extends VmmException {
    private final long rip;
    private final byte[] code;

    public GuestEmulationException(String message, long rip, byte[] code) {
        super(message);
        this.rip = rip;
        this.code = code.clone();
    }

    /** The guest's instruction pointer at the failure. */
    public long rip() {
        return rip;
    }

    /** The instruction bytes at RIP, as far as they could be read (possibly none). */
    public byte[] code() {
        return code.clone();
    }
}
