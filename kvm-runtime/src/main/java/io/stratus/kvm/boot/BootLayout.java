package io.stratus.kvm.boot;

/**
 * Where the VMM puts its boot structures in low guest memory. Everything below 1 MiB belongs
 * to the VMM; kernels load at or above {@link #KERNEL_MIN_ADDRESS}.
 */
public final class BootLayout {
    /** Boot GDT (five entries: null, null, code, data, TSS). */
    public static final long GDT = 0x500;
    /** An empty IDT, so that an early exception is a clean triple fault. */
    public static final long IDT = 0x520;
    /** PVH {@code hvm_start_info}, then its module list. */
    public static final long PVH_START_INFO = 0x6000;
    public static final long PVH_MODLIST = 0x6040;
    /** PVH memory map (up to 128 entries). */
    public static final long PVH_MEMMAP = 0x7000;
    /** Linux {@code boot_params} (the "zero page"); used instead of the PVH structures. */
    public static final long ZERO_PAGE = 0x7000;
    /** Stack for the 64-bit Linux entry. */
    public static final long BOOT_STACK = 0x8ff0;
    /** Identity-mapping page tables for the 64-bit entry: PML4, PDPT and four page directories. */
    public static final long PML4 = 0x9000;
    public static final long PDPT = 0xa000;
    public static final long PD = 0xb000;
    /** The kernel command line. */
    public static final long CMDLINE = 0x20000;
    public static final int CMDLINE_MAX = 4096;
    /** Top of conventional memory: the e820 map stops usable RAM here. */
    public static final long EBDA_START = 0x9fc00;
    /** ACPI tables (the RSDP first, where a scan of 0xE0000-0xFFFFF finds it). */
    public static final long ACPI_TABLES = 0xe0000;
    public static final long ACPI_TABLES_END = 0xf0000;
    /** MP floating pointer and configuration table. */
    public static final long MP_TABLE = 0xf0000;
    public static final long MP_TABLE_END = 0x100000;
    /** Lowest address a kernel image may occupy. */
    public static final long KERNEL_MIN_ADDRESS = 0x100000;
    /** The in-kernel IOAPIC and local APIC MMIO windows. */
    public static final long IOAPIC_ADDRESS = 0xfec00000L;
    public static final long LAPIC_ADDRESS = 0xfee00000L;
    /** Three pages KVM needs for its TSS on Intel hosts, and one for the real-mode identity map. */
    public static final long KVM_TSS = 0xfffbd000L;
    public static final long KVM_IDENTITY_MAP = 0xfffbc000L;

    private BootLayout() {
    }
}
