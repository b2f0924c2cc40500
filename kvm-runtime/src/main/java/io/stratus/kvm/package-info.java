/**
 * Stratus kvm-runtime: a virtual machine monitor on Linux {@code /dev/kvm}.
 *
 * <p>Packages, from the bottom up: {@code sys} (the only code that touches native memory
 * layouts: libc and KVM ioctls), {@code memory} (guest RAM), {@code boot} (kernel loaders and
 * boot protocols), {@code acpi} (the tables the VMM generates and an AML encoder), {@code cpu}
 * (CPUID and MSR set-up), {@code devices} (port and MMIO buses, UART, reset and power control),
 * {@code vcpu} (vCPU threads and exit dispatch), {@code vm} ({@link io.stratus.kvm.vm.VirtualMachine},
 * the public entry point), {@code persist} (how each part saves its state as a record and
 * takes one back), {@code snapshot} (the saved state of a paused guest) and
 * {@code migration} (live migration of a running guest to another VM, by pre-copy); beside them,
 * {@code nbd} (a client of the Network Block Device protocol, for disks whose data is on a server).
 */
package io.stratus.kvm;
