package io.stratus.kvm.sys;

import com.sun.jna.Memory;

/** A KVM virtual machine file descriptor: memory slots, the in-kernel irqchip and PIT, irqfd, ioeventfd, vCPUs. */
public final class VmFd extends NativeFd {
    /** {@code KVM_PIT_SPEAKER_DUMMY}: the in-kernel PIT also answers port 0x61. */
    public static final int PIT_SPEAKER_DUMMY = 1;
    /** {@code KVM_MEM_LOG_DIRTY_PAGES}. */
    public static final int MEM_LOG_DIRTY_PAGES = 1;

    private static final int IOEVENTFD_FLAG_DATAMATCH = 1;
    private static final int IOEVENTFD_FLAG_PIO = 1 << 1;
    private static final int IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    private static final int IRQFD_FLAG_DEASSIGN = 1;

    private final int vcpuMmapSize;

    VmFd(int fd, int vcpuMmapSize) {
        super(fd);
        this.vcpuMmapSize = vcpuMmapSize;
    }

    /** {@code KVM_CHECK_EXTENSION} on the VM, which may differ from the system answer. */
    public int checkExtension(KvmCapability capability) {
        return ioctl("KVM_CHECK_EXTENSION", Ioctls.KVM_CHECK_EXTENSION, capability.number());
    }

    /**
     * {@code KVM_SET_USER_MEMORY_REGION}: maps {@code size} bytes of host memory at {@code hostAddress}
     * into the guest at {@code guestPhysical}. A size of 0 deletes the slot.
     */
    public void setUserMemoryRegion(int slot, int flags, long guestPhysical, long size, long hostAddress) {
        Memory region = new Memory(32);
        region.setInt(0, slot);
        region.setInt(4, flags);
        region.setLong(8, guestPhysical);
        region.setLong(16, size);
        region.setLong(24, hostAddress);
        ioctl("KVM_SET_USER_MEMORY_REGION", Ioctls.KVM_SET_USER_MEMORY_REGION, region);
    }

    /**
     * {@code KVM_GET_DIRTY_LOG}: the pages of memory slot {@code slot} (registered with
     * {@link #MEM_LOG_DIRTY_PAGES}) the guest wrote since the last call, one bit per 4 KiB page
     * (bit {@code i % 64} of word {@code i / 64} for page {@code i}); KVM clears its log as it
     * hands it over and write-protects the pages again.
     *
     * @param pages the slot's size in pages
     */
    public long[] getDirtyLog(int slot, long pages) {
        if (pages <= 0 || pages > (1L << 31)) {
            throw new IllegalArgumentException("a memory slot of " + pages + " pages");
        }
        int words = (int) ((pages + 63) / 64);
        // KVM writes ALIGN(pages, 64) / 8 bytes: exactly this buffer.
        Memory bitmap = new Memory(8L * words);
        bitmap.clear();
        // struct kvm_dirty_log { __u32 slot; __u32 padding1; union { void *dirty_bitmap; __u64 padding2; }; }
        Memory log = new Memory(16);
        log.clear();
        log.setInt(0, slot);
        log.setPointer(8, bitmap);
        ioctl("KVM_GET_DIRTY_LOG", Ioctls.KVM_GET_DIRTY_LOG, log);
        return bitmap.getLongArray(0, words);
    }

    /** {@code KVM_SET_TSS_ADDR}: three pages of guest-physical space KVM needs on Intel hosts. */
    public void setTssAddress(long address) {
        ioctl("KVM_SET_TSS_ADDR", Ioctls.KVM_SET_TSS_ADDR, address);
    }

    /** {@code KVM_SET_IDENTITY_MAP_ADDR}: one page KVM needs for real-mode emulation on Intel hosts. */
    public void setIdentityMapAddress(long address) {
        Memory buf = new Memory(8);
        buf.setLong(0, address);
        ioctl("KVM_SET_IDENTITY_MAP_ADDR", Ioctls.KVM_SET_IDENTITY_MAP_ADDR, buf);
    }

    /** {@code KVM_CREATE_IRQCHIP}: in-kernel PIC pair, IOAPIC and per-vCPU local APICs. */
    public void createIrqchip() {
        ioctl("KVM_CREATE_IRQCHIP", Ioctls.KVM_CREATE_IRQCHIP, 0L);
    }

    /** {@code KVM_CREATE_PIT2}: the in-kernel i8254 timer. */
    public void createPit2(int flags) {
        Memory config = new Memory(64);
        config.clear();
        config.setInt(0, flags);
        ioctl("KVM_CREATE_PIT2", Ioctls.KVM_CREATE_PIT2, config);
    }

    /** {@code KVM_IRQ_LINE}: drives a GSI of the in-kernel irqchip high or low. */
    public void irqLine(int gsi, boolean high) {
        Memory level = new Memory(8);
        level.setInt(0, gsi);
        level.setInt(4, high ? 1 : 0);
        ioctl("KVM_IRQ_LINE", Ioctls.KVM_IRQ_LINE, level);
    }

    /** {@code KVM_IRQFD}: a write to {@code eventFd} pulses {@code gsi} (edge-triggered delivery). */
    public void registerIrqfd(EventFd eventFd, int gsi) {
        ioctl("KVM_IRQFD", Ioctls.KVM_IRQFD, irqfd(eventFd, gsi, 0));
    }

    /** Undoes {@link #registerIrqfd}. */
    public void unregisterIrqfd(EventFd eventFd, int gsi) {
        ioctl("KVM_IRQFD(deassign)", Ioctls.KVM_IRQFD, irqfd(eventFd, gsi, IRQFD_FLAG_DEASSIGN));
    }

    private static Memory irqfd(EventFd eventFd, int gsi, int flags) {
        Memory buf = new Memory(32);
        buf.clear();
        buf.setInt(0, eventFd.fd());
        buf.setInt(4, gsi);
        buf.setInt(8, flags);
        return buf;
    }

    /**
     * {@code KVM_IOEVENTFD}: a guest write of {@code length} bytes at {@code address} (a port when
     * {@code pio}) signals {@code eventFd} inside KVM, without a userspace exit.
     *
     * @param dataMatch only writes of this value signal, or {@code null} for any value
     */
    public void registerIoeventfd(EventFd eventFd, long address, int length, Long dataMatch, boolean pio) {
        ioctl("KVM_IOEVENTFD", Ioctls.KVM_IOEVENTFD, ioeventfd(eventFd, address, length, dataMatch, pio, 0));
    }

    /** Undoes {@link #registerIoeventfd} (the arguments must be the same). */
    public void unregisterIoeventfd(EventFd eventFd, long address, int length, Long dataMatch, boolean pio) {
        ioctl("KVM_IOEVENTFD(deassign)", Ioctls.KVM_IOEVENTFD,
                ioeventfd(eventFd, address, length, dataMatch, pio, IOEVENTFD_FLAG_DEASSIGN));
    }

    private static Memory ioeventfd(EventFd eventFd, long address, int length, Long dataMatch, boolean pio,
                                    int extraFlags) {
        Memory buf = new Memory(64);
        buf.clear();
        int flags = extraFlags | (pio ? IOEVENTFD_FLAG_PIO : 0);
        if (dataMatch != null) {
            flags |= IOEVENTFD_FLAG_DATAMATCH;
            buf.setLong(0, dataMatch);
        }
        buf.setLong(8, address);
        buf.setInt(16, length);
        buf.setInt(20, eventFd.fd());
        buf.setInt(24, flags);
        return buf;
    }

    /** In-kernel irqchip parts for {@link #getIrqchip}: the two 8259 PICs and the IOAPIC. */
    public static final int IRQCHIP_PIC_MASTER = 0;
    public static final int IRQCHIP_PIC_SLAVE = 1;
    public static final int IRQCHIP_IOAPIC = 2;

    /** {@code KVM_GET_IRQCHIP}: one part's state as the kernel's 520-byte struct. */
    public byte[] getIrqchip(int chip) {
        Memory buf = new Memory(520);
        buf.clear();
        buf.setInt(0, chip);
        ioctl("KVM_GET_IRQCHIP", Ioctls.KVM_GET_IRQCHIP, buf);
        return buf.getByteArray(0, 520);
    }

    /** {@code KVM_SET_IRQCHIP} from {@link #getIrqchip}. */
    public void setIrqchip(byte[] state) {
        if (state.length != 520) {
            throw new IllegalArgumentException("irqchip state is 520 bytes, not " + state.length);
        }
        Memory buf = new Memory(520);
        buf.write(0, state, 0, 520);
        ioctl("KVM_SET_IRQCHIP", Ioctls.KVM_SET_IRQCHIP, buf);
    }

    /** {@code KVM_GET_PIT2}: the in-kernel PIT's 112-byte state. */
    public byte[] getPit2() {
        Memory buf = new Memory(112);
        buf.clear();
        ioctl("KVM_GET_PIT2", Ioctls.KVM_GET_PIT2, buf);
        return buf.getByteArray(0, 112);
    }

    /** {@code KVM_SET_PIT2}. */
    public void setPit2(byte[] state) {
        if (state.length != 112) {
            throw new IllegalArgumentException("PIT state is 112 bytes, not " + state.length);
        }
        Memory buf = new Memory(112);
        buf.write(0, state, 0, 112);
        ioctl("KVM_SET_PIT2", Ioctls.KVM_SET_PIT2, buf);
    }

    /** {@code KVM_GET_CLOCK}: the kvm-clock value, in nanoseconds. */
    public long getClock() {
        Memory buf = new Memory(48);
        buf.clear();
        ioctl("KVM_GET_CLOCK", Ioctls.KVM_GET_CLOCK, buf);
        return buf.getLong(0);
    }

    /** {@code KVM_SET_CLOCK}: sets kvm-clock to {@code nanoseconds}, so that guest time goes on from there. */
    public void setClock(long nanoseconds) {
        Memory buf = new Memory(48);
        buf.clear();
        buf.setLong(0, nanoseconds);
        ioctl("KVM_SET_CLOCK", Ioctls.KVM_SET_CLOCK, buf);
    }

    /** {@code KVM_CREATE_VCPU} with the given vCPU (and initial APIC) id. */
    public VcpuFd createVcpu(int id) {
        int vcpuFd = ioctl("KVM_CREATE_VCPU", Ioctls.KVM_CREATE_VCPU, id);
        return new VcpuFd(vcpuFd, id, vcpuMmapSize);
    }
}
