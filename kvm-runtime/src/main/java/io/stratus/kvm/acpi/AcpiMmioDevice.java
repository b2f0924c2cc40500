package io.stratus.kvm.acpi;

/**
 * An MMIO device listed in the DSDT, such as a virtio-mmio transport ({@code _HID "LNRO0005"}).
 *
 * @param hid the ACPI hardware id
 * @param base guest-physical base of its register window
 * @param size length of the window
 * @param gsi the (edge-triggered, active-high) interrupt it raises
 */
public record AcpiMmioDevice(String hid, long base, long size, int gsi) {
}
