package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.util.List;

/**
 * Xen's {@code struct hvm_start_info} (version 1) with its module list and memory map, as the
 * PVH boot ABI defines them (xen/include/public/arch-x86/hvm/start_info.h).
 */
public final class PvhStartInfo {
    public static final int MAGIC = 0x336ec578;
    static final int MEMMAP_MAX = 128;

    private PvhStartInfo() {
    }

    /** Writes start info, module list and memory map at their {@link BootLayout} addresses; returns the start info's. */
    public static GuestAddress write(GuestMemory memory, List<E820Entry> e820, GuestAddress cmdline,
                                     InitrdRange initrd, GuestAddress rsdp) {
        if (e820.size() > MEMMAP_MAX) {
            throw new IllegalArgumentException("more than " + MEMMAP_MAX + " memory map entries");
        }
        GuestAddress info = GuestAddress.of(BootLayout.PVH_START_INFO);
        memory.fill(info, 56, (byte) 0);
        memory.writeInt(info, MAGIC);
        memory.writeInt(info.add(4), 1);
        memory.writeLong(info.add(24), cmdline.value());
        memory.writeLong(info.add(32), rsdp == null ? 0 : rsdp.value());
        if (initrd != null) {
            GuestAddress mod = GuestAddress.of(BootLayout.PVH_MODLIST);
            memory.fill(mod, 32, (byte) 0);
            memory.writeLong(mod, initrd.start().value());
            memory.writeLong(mod.add(8), initrd.size());
            memory.writeInt(info.add(12), 1);
            memory.writeLong(info.add(16), mod.value());
        }
        GuestAddress map = GuestAddress.of(BootLayout.PVH_MEMMAP);
        for (int i = 0; i < e820.size(); i++) {
            GuestAddress entry = map.add(24L * i);
            memory.writeLong(entry, e820.get(i).address());
            memory.writeLong(entry.add(8), e820.get(i).size());
            memory.writeInt(entry.add(16), e820.get(i).type());
            memory.writeInt(entry.add(20), 0);
        }
        memory.writeLong(info.add(40), map.value());
        memory.writeInt(info.add(48), e820.size());
        return info;
    }
}
