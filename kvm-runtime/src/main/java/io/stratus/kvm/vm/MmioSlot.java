package io.stratus.kvm.vm;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a virtio-mmio device sits: its register window in the MMIO hole below 4 GiB and its
 * IOAPIC pin. The same slots go into the DSDT and, with acpi=off, onto the command line.
 */
record MmioSlot(long base, int gsi) {
    static final long FIRST_BASE = 0xd000_0000L;
    static final long STRIDE = 0x1000;
    /** The first pin above the ISA interrupts the platform devices use (COM1 is 4). */
    static final int FIRST_GSI = 5;
    /** IOAPIC pins 5..23. */
    static final int MAX_SLOTS = 19;

    static List<MmioSlot> allocate(int count) {
        if (count > MAX_SLOTS) {
            throw new VmConfigException("at most " + MAX_SLOTS + " virtio devices, not " + count);
        }
        List<MmioSlot> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(new MmioSlot(FIRST_BASE + STRIDE * i, FIRST_GSI + i));
        }
        return out;
    }
}
