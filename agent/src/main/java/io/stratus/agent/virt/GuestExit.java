package io.stratus.agent.virt;

/**
 * How a guest's run ended, in the agent's words (each driver maps its own).
 *
 * @param detail what asked for the end, for example "ACPI S5" or "guest-reset"
 */
public record GuestExit(Reason reason, String detail) {

    public enum Reason {
        /** The guest powered itself off. */
        POWER_OFF,
        /** The guest asked for a reset (a reboot): the agent boots it again. */
        RESET,
        /** Every vCPU halted with interrupts off: stopped without a way to power off. */
        HALTED,
        /** A vCPU triple-faulted, which resets a PC. */
        TRIPLE_FAULT,
        /** The guest reported a crash (a panic notifier). */
        CRASH,
        /** The host stopped it. */
        STOPPED,
        /** The hypervisor could not go on running it. */
        FAILED
    }
}
