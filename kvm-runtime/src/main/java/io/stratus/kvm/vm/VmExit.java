package io.stratus.kvm.vm;

import io.stratus.kvm.VmmException;
import java.util.Optional;

/**
 * How a guest's run ended.
 *
 * @param detail what asked for the end, for example "ACPI S5" or "i8042 reset"
 * @param error the failure, for {@link Reason#FAILED}
 */
public record VmExit(Reason reason, String detail, Optional<VmmException> error) {

    /** Why the VM stopped running. */
    public enum Reason {
        /** The guest powered itself off. */
        POWER_OFF,
        /** The guest asked for a reset (a reboot); the VMM stops it, its owner decides whether to boot again. */
        RESET,
        /**
         * Every vCPU halted with interrupts disabled: the guest stopped itself without a way to
         * power off (Linux's halt, or poweroff without ACPI).
         */
        HALTED,
        /** A vCPU triple-faulted, which resets a PC. */
        TRIPLE_FAULT,
        /** The guest reported a crash through a platform event. */
        CRASH,
        /** The host stopped the VM. */
        STOPPED,
        /** The VMM could not go on running the guest. */
        FAILED
    }

    static VmExit of(Reason reason, String detail) {
        return new VmExit(reason, detail, Optional.empty());
    }

    static VmExit failed(VmmException error) {
        return new VmExit(Reason.FAILED, error.getMessage(), Optional.of(error));
    }

    /** Whether the guest ended on its own terms (power-off, halt or reset). */
    public boolean isClean() {
        return reason == Reason.POWER_OFF || reason == Reason.HALTED || reason == Reason.RESET;
    }
}
