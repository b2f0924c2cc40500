package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.memory.GuestRegion;
import java.util.ArrayList;
import java.util.List;

/** The memory map the VMM reports to the guest (e820 / PVH memmap), derived from guest RAM. */
public final class MemoryMap {
    private MemoryMap() {
    }

    /**
     * RAM below the EBDA, the BIOS area holding the VMM's ACPI and MP tables as reserved, and
     * every RAM region from 1 MiB up.
     */
    public static List<E820Entry> of(GuestMemory memory) {
        List<E820Entry> map = new ArrayList<>();
        map.add(new E820Entry(0, BootLayout.EBDA_START, E820Entry.RAM));
        map.add(new E820Entry(BootLayout.EBDA_START, 0xa0000 - BootLayout.EBDA_START, E820Entry.RESERVED));
        map.add(new E820Entry(BootLayout.ACPI_TABLES, BootLayout.MP_TABLE_END - BootLayout.ACPI_TABLES,
                E820Entry.RESERVED));
        for (GuestRegion r : memory.regions()) {
            long start = Math.max(r.start().value(), BootLayout.KERNEL_MIN_ADDRESS);
            long end = r.end().value();
            if (end > start) {
                map.add(new E820Entry(start, end - start, E820Entry.RAM));
            }
        }
        return List.copyOf(map);
    }
}
