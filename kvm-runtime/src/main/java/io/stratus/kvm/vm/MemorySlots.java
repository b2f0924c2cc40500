package io.stratus.kvm.vm;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.memory.GuestRegion;
import io.stratus.kvm.sys.VmFd;

/**
 * Guest RAM as KVM sees it: memory slot {@code i} is region {@code i}, registered with or without
 * dirty logging, and the dirty pages of both KVM's log and the VMM's own writes. Not thread-safe:
 * {@link VirtualMachine} calls it under its lock.
 */
final class MemorySlots {
    private final VmFd vmFd;
    private final GuestMemory memory;
    private boolean dirtyTracking;

    MemorySlots(VmFd vmFd, GuestMemory memory) {
        this.vmFd = vmFd;
        this.memory = memory;
    }

    /** Registers every region; registering a slot again changes its flags only. */
    void register(int flags) {
        int slot = 0;
        for (GuestRegion region : memory.regions()) {
            vmFd.setUserMemoryRegion(slot++, flags, region.start().value(), region.size(), memory.hostAddress(region));
        }
    }

    boolean tracking() {
        return dirtyTracking;
    }

    /** KVM's dirty log on every slot and the VMM's write log on guest RAM; a no-op when already tracking. */
    void startDirtyTracking() {
        if (dirtyTracking) {
            return;
        }
        memory.startWriteTracking();
        try {
            register(VmFd.MEM_LOG_DIRTY_PAGES);
        } catch (RuntimeException e) {
            memory.stopWriteTracking();
            register(0);
            throw e;
        }
        dirtyTracking = true;
    }

    /** Both logs' pages since the last call, clearing them. */
    DirtyPages takeDirtyPages() {
        DirtyPages pages = memory.takeWrittenPages();
        int slot = 0;
        for (GuestRegion region : memory.regions()) {
            long n = region.size() / GuestMemory.PAGE_SIZE;
            long[] bitmap = vmFd.getDirtyLog(slot++, n);
            pages = pages.union(DirtyPages.ofBitmap(memory.pageCount(), region.mappingOffset() / GuestMemory.PAGE_SIZE,
                    bitmap, n));
        }
        return pages;
    }

    /** Ends both logs; a no-op when not tracking. */
    void stopDirtyTracking() {
        if (!dirtyTracking) {
            return;
        }
        dirtyTracking = false;
        memory.stopWriteTracking();
        register(0);
    }
}
