package io.stratus.kvm.devices;

/** What the guest asks of the machine through its power-control devices. */
public interface GuestPowerEvents {
    /** The guest powered off (ACPI S5). */
    void powerOff(String source);

    /** The guest asked for a reset (reboot). */
    void reset(String source);
}
