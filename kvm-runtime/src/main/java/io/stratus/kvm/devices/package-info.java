/**
 * Port and MMIO buses and the platform devices on them: 16550A UART, i8042 reset, ACPI power
 * registers.
 */
package io.stratus.kvm.devices;
