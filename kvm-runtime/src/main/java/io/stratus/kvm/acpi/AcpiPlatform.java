package io.stratus.kvm.acpi;

import java.util.List;

/**
 * What the ACPI tables describe: the vCPUs, the IOAPIC, the VMM's power-control registers and
 * the MMIO devices the guest finds through the DSDT.
 *
 * @param sleepControlPort I/O port of the FADT sleep control register (ACPI power-off)
 * @param sleepStatusPort I/O port of the FADT sleep status register
 * @param resetPort I/O port of the FADT reset register
 * @param resetValue value the guest writes to {@code resetPort} to reset
 * @param serialPort base of the 16550 UART (COM1), or 0 for none
 * @param serialIrq its ISA IRQ
 */
public record AcpiPlatform(int vcpus, int ioapicId, int sleepControlPort, int sleepStatusPort, int resetPort,
                           int resetValue, int serialPort, int serialIrq, List<AcpiMmioDevice> mmioDevices) {
    public AcpiPlatform {
        if (vcpus < 1 || vcpus > 254) {
            throw new IllegalArgumentException("ACPI tables describe 1 to 254 vCPUs, not " + vcpus);
        }
        mmioDevices = List.copyOf(mmioDevices);
    }
}
