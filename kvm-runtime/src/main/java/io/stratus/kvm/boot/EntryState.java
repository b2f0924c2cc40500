package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.DescriptorTable;
import io.stratus.kvm.sys.Regs;
import io.stratus.kvm.sys.Segment;
import io.stratus.kvm.sys.SpecialRegisters;

/**
 * The boot vCPU's registers at a kernel's entry: flat 32-bit protected mode for PVH, or long
 * mode with identity-mapped page tables for the Linux 64-bit protocol. The GDT layout (code at
 * 0x10, data at 0x18, TSS at 0x20) is the one both protocols document.
 */
public final class EntryState {
    static final long GDT_CODE32 = 0x00cf9b000000ffffL;
    static final long GDT_CODE64 = 0x00af9b000000ffffL;
    static final long GDT_DATA = 0x00cf93000000ffffL;
    static final long GDT_TSS = 0x00008b0000000067L;
    static final int CODE_SELECTOR = 0x10;
    static final int DATA_SELECTOR = 0x18;
    static final int TSS_SELECTOR = 0x20;

    private static final long CR0_PE = 1;
    private static final long CR0_MP = 1 << 1;
    private static final long CR0_ET = 1 << 4;
    private static final long CR0_NE = 1 << 5;
    private static final long CR0_WP = 1 << 16;
    private static final long CR0_PG = 1L << 31;
    private static final long CR4_PAE = 1 << 5;
    private static final long EFER_LME = 1 << 8;
    private static final long EFER_LMA = 1 << 10;
    /** Pages mapped 1:1 by the 64-bit entry's tables: the first 4 GiB in 2 MiB pages. */
    static final int IDENTITY_MAPPED_GIB = 4;

    private EntryState() {
    }

    /** A vCPU's registers at entry. */
    public record Registers(Regs regs, SpecialRegisters sregs) {
    }

    /** PVH: 32-bit protected mode, paging off, EBX pointing at {@code hvm_start_info}. */
    public static Registers pvh(GuestMemory memory, SpecialRegisters reset, GuestAddress entry,
                                GuestAddress startInfo) {
        writeGdt(memory, GDT_CODE32);
        SpecialRegisters sregs = flatSegments(reset, GDT_CODE32).withControl(CR0_PE | CR0_ET, 0, 0, 0);
        Regs regs = Regs.reset().withRip(entry.value()).withRbx(startInfo.value());
        return new Registers(regs, sregs);
    }

    /** Linux 64-bit: long mode, the first 4 GiB identity-mapped, RSI pointing at {@code boot_params}. */
    public static Registers linux64(GuestMemory memory, SpecialRegisters reset, GuestAddress entry,
                                    GuestAddress bootParams) {
        writeGdt(memory, GDT_CODE64);
        writeIdentityPageTables(memory);
        SpecialRegisters sregs = flatSegments(reset, GDT_CODE64).withControl(
                CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG, BootLayout.PML4, CR4_PAE, EFER_LME | EFER_LMA);
        Regs regs = Regs.reset().withRip(entry.value()).withRsi(bootParams.value()).withStack(BootLayout.BOOT_STACK);
        return new Registers(regs, sregs);
    }

    private static SpecialRegisters flatSegments(SpecialRegisters reset, long codeDescriptor) {
        Segment code = Segment.fromGdtEntry(CODE_SELECTOR, codeDescriptor);
        Segment data = Segment.fromGdtEntry(DATA_SELECTOR, GDT_DATA);
        Segment tss = Segment.fromGdtEntry(TSS_SELECTOR, GDT_TSS);
        return reset.withSegments(code, data, tss, new DescriptorTable(BootLayout.GDT, 5 * 8 - 1),
                new DescriptorTable(BootLayout.IDT, 0));
    }

    static void writeGdt(GuestMemory memory, long codeDescriptor) {
        long[] gdt = {0, 0, codeDescriptor, GDT_DATA, GDT_TSS};
        for (int i = 0; i < gdt.length; i++) {
            memory.writeLong(GuestAddress.of(BootLayout.GDT + 8L * i), gdt[i]);
        }
        memory.writeLong(GuestAddress.of(BootLayout.IDT), 0);
    }

    static void writeIdentityPageTables(GuestMemory memory) {
        memory.fill(GuestAddress.of(BootLayout.PML4), 4096, (byte) 0);
        memory.fill(GuestAddress.of(BootLayout.PDPT), 4096, (byte) 0);
        // Present | writable on every level; PS (2 MiB page) in the page directories.
        memory.writeLong(GuestAddress.of(BootLayout.PML4), BootLayout.PDPT | 0x3);
        for (int gib = 0; gib < IDENTITY_MAPPED_GIB; gib++) {
            long pd = BootLayout.PD + 4096L * gib;
            memory.writeLong(GuestAddress.of(BootLayout.PDPT + 8L * gib), pd | 0x3);
            for (int i = 0; i < 512; i++) {
                long physical = ((long) gib << 30) | ((long) i << 21);
                memory.writeLong(GuestAddress.of(pd + 8L * i), physical | 0x83);
            }
        }
    }
}
