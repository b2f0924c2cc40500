package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * A KVM vCPU file descriptor and its shared {@code kvm_run} page. {@link #run()} and the state
 * accessors belong to the vCPU's own thread; only {@link #setImmediateExit} may be called from
 * another one.
 */
public final class VcpuFd extends NativeFd {
    private static final int KVM_EXIT_IO = 2;
    private static final int KVM_EXIT_HLT = 5;
    private static final int KVM_EXIT_MMIO = 6;
    private static final int KVM_EXIT_SHUTDOWN = 8;
    private static final int KVM_EXIT_FAIL_ENTRY = 9;
    private static final int KVM_EXIT_INTR = 10;
    private static final int KVM_EXIT_INTERNAL_ERROR = 17;
    private static final int KVM_EXIT_SYSTEM_EVENT = 24;

    // struct kvm_run offsets (x86-64, checked against <linux/kvm.h>).
    private static final int RUN_IMMEDIATE_EXIT = 1;
    private static final int RUN_EXIT_REASON = 8;
    private static final int RUN_UNION = 32;
    private static final int RUN_MMIO_DATA = 40;
    private static final int RUN_MMIO_LEN = 48;
    private static final int RUN_MMIO_IS_WRITE = 52;

    private static final int SEGMENT_SIZE = 24;
    private static final int SREGS_SIZE = 312;
    private static final int FPU_SIZE = 416;
    private static final int LAPIC_SIZE = 1024;

    private final int id;
    private final int mmapSize;
    private final Pointer run;
    private final ByteBuffer runView;
    private final ByteBuffer mmioData;
    /** A view of the port-I/O data area, reused while KVM keeps it at the same offset (it always does). */
    private ByteBuffer ioData;
    private long ioDataOffset = -1;

    VcpuFd(int fd, int id, int mmapSize) {
        super(fd);
        this.id = id;
        this.mmapSize = mmapSize;
        try {
            // Safe because: KVM defines the vCPU fd's mapping as mmapSize bytes at offset 0, and the
            // mapping lives until close() unmaps it after the fd is no longer run.
            this.run = LibC.mmap(null, mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        } catch (LastErrorException e) {
            closeFdOnly(fd);
            throw new KvmException("mmap(kvm_run)", e.getErrorCode());
        }
        this.runView = run.getByteBuffer(0, mmapSize).order(ByteOrder.LITTLE_ENDIAN);
        this.mmioData = run.getByteBuffer(RUN_MMIO_DATA, 8).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void closeFdOnly(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // Safe to ignore: the descriptor is released either way.
        }
    }

    /** The id this vCPU was created with (also its initial APIC id). */
    public int id() {
        return id;
    }

    /** {@code KVM_RUN}: runs the guest until it needs the VMM, a signal arrives, or it stops. */
    public VcpuExit run() {
        try {
            LibC.ioctl(fd(), Ioctls.KVM_RUN, 0L);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINTR || e.getErrorCode() == Errno.EAGAIN) {
                return new VcpuExit.Interrupted();
            }
            throw new KvmException("KVM_RUN on vCPU " + id, e.getErrorCode());
        }
        // Reads go through the direct buffer over kvm_run: plain Java memory accesses, where JNA's
        // Pointer getters would cost a JNI call each on the exit path.
        ByteBuffer r = runView;
        int reason = r.getInt(RUN_EXIT_REASON);
        switch (reason) {
            case KVM_EXIT_IO: {
                int direction = r.get(RUN_UNION) & 0xFF;
                int size = r.get(RUN_UNION + 1) & 0xFF;
                int port = r.getShort(RUN_UNION + 2) & 0xFFFF;
                int count = r.getInt(RUN_UNION + 4);
                long dataOffset = r.getLong(RUN_UNION + 8);
                long length = (long) size * count;
                if (dataOffset < 0 || length <= 0 || dataOffset + length > mmapSize) {
                    throw new KvmException("KVM_RUN on vCPU " + id + " returned an I/O exit outside kvm_run (offset "
                            + dataOffset + ", " + length + " bytes)");
                }
                if (dataOffset != ioDataOffset) {
                    ioData = runView.duplicate().position((int) dataOffset).slice().order(ByteOrder.LITTLE_ENDIAN);
                    ioDataOffset = dataOffset;
                }
                ByteBuffer data = ioData.clear().limit((int) length);
                return direction == 1 ? new VcpuExit.IoOut(port, size, count, data)
                        : new VcpuExit.IoIn(port, size, count, data);
            }
            case KVM_EXIT_MMIO: {
                long address = r.getLong(RUN_UNION);
                int len = Math.min(r.getInt(RUN_MMIO_LEN), 8);
                boolean write = r.get(RUN_MMIO_IS_WRITE) != 0;
                ByteBuffer data = mmioData.clear().limit(len);
                return write ? new VcpuExit.MmioWrite(address, data) : new VcpuExit.MmioRead(address, data);
            }
            case KVM_EXIT_HLT:
                return new VcpuExit.Hlt();
            case KVM_EXIT_SHUTDOWN:
                return new VcpuExit.Shutdown();
            case KVM_EXIT_INTR:
                return new VcpuExit.Interrupted();
            case KVM_EXIT_FAIL_ENTRY:
                return new VcpuExit.FailEntry(r.getLong(RUN_UNION), r.getInt(RUN_UNION + 8));
            case KVM_EXIT_INTERNAL_ERROR: {
                int suberror = r.getInt(RUN_UNION);
                int n = Math.min(Math.max(r.getInt(RUN_UNION + 4), 0), 16);
                return new VcpuExit.InternalError(suberror, run.getLongArray(RUN_UNION + 8, n));
            }
            case KVM_EXIT_SYSTEM_EVENT: {
                int type = r.getInt(RUN_UNION);
                int n = Math.min(Math.max(r.getInt(RUN_UNION + 4), 0), 16);
                return new VcpuExit.SystemEvent(type, run.getLongArray(RUN_UNION + 8, n));
            }
            default:
                return new VcpuExit.Other(reason, r.getLong(RUN_UNION));
        }
    }

    /**
     * Sets {@code kvm_run.immediate_exit}: while set, {@code KVM_RUN} returns at once with EINTR.
     * Together with a signal this closes the race between checking a stop flag and entering the guest.
     */
    public void setImmediateExit(boolean value) {
        run.setByte(RUN_IMMEDIATE_EXIT, (byte) (value ? 1 : 0));
    }

    /** {@code KVM_GET_REGS}. */
    public Regs getRegs() {
        Memory buf = new Memory(144);
        ioctl("KVM_GET_REGS", Ioctls.KVM_GET_REGS, buf);
        return Regs.fromArray(buf.getLongArray(0, 18));
    }

    /** {@code KVM_SET_REGS}. */
    public void setRegs(Regs regs) {
        Memory buf = new Memory(144);
        buf.write(0, regs.toArray(), 0, 18);
        ioctl("KVM_SET_REGS", Ioctls.KVM_SET_REGS, buf);
    }

    /** {@code KVM_GET_SREGS}. */
    public SpecialRegisters getSregs() {
        Memory buf = new Memory(SREGS_SIZE);
        ioctl("KVM_GET_SREGS", Ioctls.KVM_GET_SREGS, buf);
        Segment[] s = new Segment[8];
        for (int i = 0; i < 8; i++) {
            s[i] = readSegment(buf, (long) i * SEGMENT_SIZE);
        }
        return new SpecialRegisters(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                new DescriptorTable(buf.getLong(192), buf.getShort(200) & 0xFFFF),
                new DescriptorTable(buf.getLong(208), buf.getShort(216) & 0xFFFF),
                buf.getLong(224), buf.getLong(232), buf.getLong(240), buf.getLong(248), buf.getLong(256),
                buf.getLong(264), buf.getLong(272), buf.getLongArray(280, 4));
    }

    /** {@code KVM_SET_SREGS}. */
    public void setSregs(SpecialRegisters r) {
        Memory buf = new Memory(SREGS_SIZE);
        buf.clear();
        Segment[] s = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
        for (int i = 0; i < 8; i++) {
            writeSegment(buf, (long) i * SEGMENT_SIZE, s[i]);
        }
        buf.setLong(192, r.gdt().base());
        buf.setShort(200, (short) r.gdt().limit());
        buf.setLong(208, r.idt().base());
        buf.setShort(216, (short) r.idt().limit());
        buf.setLong(224, r.cr0());
        buf.setLong(232, r.cr2());
        buf.setLong(240, r.cr3());
        buf.setLong(248, r.cr4());
        buf.setLong(256, r.cr8());
        buf.setLong(264, r.efer());
        buf.setLong(272, r.apicBase());
        buf.write(280, r.interruptBitmap(), 0, 4);
        ioctl("KVM_SET_SREGS", Ioctls.KVM_SET_SREGS, buf);
    }

    private static Segment readSegment(Memory buf, long o) {
        return new Segment(buf.getLong(o), buf.getInt(o + 8), buf.getShort(o + 12) & 0xFFFF, buf.getByte(o + 14),
                buf.getByte(o + 15), buf.getByte(o + 16), buf.getByte(o + 17), buf.getByte(o + 18),
                buf.getByte(o + 19), buf.getByte(o + 20), buf.getByte(o + 21), buf.getByte(o + 22));
    }

    private static void writeSegment(Memory buf, long o, Segment s) {
        buf.setLong(o, s.base());
        buf.setInt(o + 8, s.limit());
        buf.setShort(o + 12, (short) s.selector());
        buf.setByte(o + 14, (byte) s.type());
        buf.setByte(o + 15, (byte) s.present());
        buf.setByte(o + 16, (byte) s.dpl());
        buf.setByte(o + 17, (byte) s.db());
        buf.setByte(o + 18, (byte) s.s());
        buf.setByte(o + 19, (byte) s.l());
        buf.setByte(o + 20, (byte) s.g());
        buf.setByte(o + 21, (byte) s.avl());
        buf.setByte(o + 22, (byte) s.unusable());
    }

    /** {@code KVM_SET_FPU} with the x87 control word and MXCSR set, everything else clear. */
    public void setFpu(int fcw, int mxcsr) {
        Memory buf = new Memory(FPU_SIZE);
        buf.clear();
        buf.setShort(128, (short) fcw);
        buf.setInt(408, mxcsr);
        ioctl("KVM_SET_FPU", Ioctls.KVM_SET_FPU, buf);
    }

    /** {@code KVM_SET_CPUID2}. */
    public void setCpuid(List<CpuidEntry> entries) {
        ioctl("KVM_SET_CPUID2", Ioctls.KVM_SET_CPUID2, CpuidCodec.encode(entries));
    }

    /** {@code KVM_SET_MSRS}; fails unless KVM accepts every entry. */
    public void setMsrs(List<MsrEntry> entries) {
        Memory buf = new Memory(8 + 16L * Math.max(entries.size(), 1));
        buf.clear();
        buf.setInt(0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            buf.setInt(8 + 16L * i, entries.get(i).index());
            buf.setLong(16 + 16L * i, entries.get(i).data());
        }
        int set = ioctl("KVM_SET_MSRS", Ioctls.KVM_SET_MSRS, buf);
        if (set != entries.size()) {
            MsrEntry refused = entries.get(set);
            throw new KvmException("KVM_SET_MSRS refused MSR 0x" + Integer.toHexString(refused.index())
                    + " (value 0x" + Long.toHexString(refused.data()) + ") on vCPU " + id);
        }
    }

    /** {@code KVM_GET_MSRS} for the given indices; MSRs KVM does not return are left out. */
    public List<MsrEntry> getMsrs(int[] indices) {
        Memory buf = new Memory(8 + 16L * Math.max(indices.length, 1));
        buf.clear();
        buf.setInt(0, indices.length);
        for (int i = 0; i < indices.length; i++) {
            buf.setInt(8 + 16L * i, indices[i]);
        }
        int got = ioctl("KVM_GET_MSRS", Ioctls.KVM_GET_MSRS, buf);
        List<MsrEntry> out = new ArrayList<>(got);
        for (int i = 0; i < got; i++) {
            out.add(new MsrEntry(buf.getInt(8 + 16L * i), buf.getLong(16 + 16L * i)));
        }
        return out;
    }

    /** {@code KVM_GET_LAPIC}: the local APIC's 1 KiB register page. */
    public byte[] getLapic() {
        Memory buf = new Memory(LAPIC_SIZE);
        ioctl("KVM_GET_LAPIC", Ioctls.KVM_GET_LAPIC, buf);
        return buf.getByteArray(0, LAPIC_SIZE);
    }

    /** {@code KVM_SET_LAPIC}. */
    public void setLapic(byte[] registers) {
        if (registers.length != LAPIC_SIZE) {
            throw new IllegalArgumentException("local APIC state is " + LAPIC_SIZE + " bytes, not " + registers.length);
        }
        Memory buf = new Memory(LAPIC_SIZE);
        buf.write(0, registers, 0, LAPIC_SIZE);
        ioctl("KVM_SET_LAPIC", Ioctls.KVM_SET_LAPIC, buf);
    }

    /** {@code KVM_GET_MP_STATE} ({@code KVM_MP_STATE_*}). */
    public int getMpState() {
        Memory buf = new Memory(4);
        ioctl("KVM_GET_MP_STATE", Ioctls.KVM_GET_MP_STATE, buf);
        return buf.getInt(0);
    }

    /** {@code KVM_SET_MP_STATE}. */
    public void setMpState(int state) {
        Memory buf = new Memory(4);
        buf.setInt(0, state);
        ioctl("KVM_SET_MP_STATE", Ioctls.KVM_SET_MP_STATE, buf);
    }

    /**
     * {@code KVM_SET_SIGNAL_MASK}: the signals blocked while the guest runs, as the kernel's
     * 64-bit mask (bit n-1 for signal n).
     */
    public void setSignalMask(long kernelSigset) {
        Memory buf = new Memory(12);
        buf.setInt(0, 8);
        buf.setLong(4, kernelSigset);
        ioctl("KVM_SET_SIGNAL_MASK", Ioctls.KVM_SET_SIGNAL_MASK, buf);
    }

    /** {@code KVM_TRANSLATE}: the guest-physical address of a guest-linear one in the vCPU's current paging mode. */
    public OptionalLong translate(long linearAddress) {
        Memory buf = new Memory(24);
        buf.clear();
        buf.setLong(0, linearAddress);
        try {
            LibC.ioctl(fd(), Ioctls.KVM_TRANSLATE, buf);
        } catch (LastErrorException e) {
            return OptionalLong.empty();
        }
        return buf.getByte(16) != 0 ? OptionalLong.of(buf.getLong(8)) : OptionalLong.empty();
    }

    /**
     * Injects exception {@code vector} (without error code) for delivery through the guest's
     * IDT at the next entry ({@code KVM_GET/SET_VCPU_EVENTS}); other pending events are kept.
     */
    public void injectException(int vector) {
        Memory events = new Memory(64);
        ioctl("KVM_GET_VCPU_EVENTS", Ioctls.KVM_GET_VCPU_EVENTS, events);
        events.setByte(0, (byte) 1); // exception.injected
        events.setByte(1, (byte) vector); // exception.nr
        events.setByte(2, (byte) 0); // exception.has_error_code
        events.setByte(3, (byte) 0); // exception.pending
        events.setInt(4, 0); // exception.error_code
        ioctl("KVM_SET_VCPU_EVENTS", Ioctls.KVM_SET_VCPU_EVENTS, events);
    }

    /** {@code KVM_GET_FPU}: the legacy x87/SSE state as the kernel's 416-byte struct. */
    public byte[] getFpuState() {
        return getBlob("KVM_GET_FPU", Ioctls.KVM_GET_FPU, FPU_SIZE);
    }

    /** {@code KVM_SET_FPU} from {@link #getFpuState()}. */
    public void setFpuState(byte[] state) {
        setBlob("KVM_SET_FPU", Ioctls.KVM_SET_FPU, FPU_SIZE, state);
    }

    /** {@code KVM_GET_XSAVE}: the 4 KiB XSAVE area (needs {@link KvmCapability#XSAVE}). */
    public byte[] getXsave() {
        return getBlob("KVM_GET_XSAVE", Ioctls.KVM_GET_XSAVE, 4096);
    }

    /** {@code KVM_SET_XSAVE}. */
    public void setXsave(byte[] state) {
        setBlob("KVM_SET_XSAVE", Ioctls.KVM_SET_XSAVE, 4096, state);
    }

    /** {@code KVM_GET_XCRS} (needs {@link KvmCapability#XCRS}). */
    public byte[] getXcrs() {
        return getBlob("KVM_GET_XCRS", Ioctls.KVM_GET_XCRS, 392);
    }

    /** {@code KVM_SET_XCRS}. */
    public void setXcrs(byte[] state) {
        setBlob("KVM_SET_XCRS", Ioctls.KVM_SET_XCRS, 392, state);
    }

    /** {@code KVM_GET_VCPU_EVENTS}: pending exceptions, interrupts, NMI and SIPI state. */
    public byte[] getVcpuEvents() {
        return getBlob("KVM_GET_VCPU_EVENTS", Ioctls.KVM_GET_VCPU_EVENTS, 64);
    }

    /** {@code KVM_SET_VCPU_EVENTS} from {@link #getVcpuEvents()}. */
    public void setVcpuEvents(byte[] state) {
        setBlob("KVM_SET_VCPU_EVENTS", Ioctls.KVM_SET_VCPU_EVENTS, 64, state);
    }

    /** {@code KVM_GET_DEBUGREGS} (needs {@link KvmCapability#DEBUGREGS}). */
    public byte[] getDebugRegs() {
        return getBlob("KVM_GET_DEBUGREGS", Ioctls.KVM_GET_DEBUGREGS, 128);
    }

    /** {@code KVM_SET_DEBUGREGS}. */
    public void setDebugRegs(byte[] state) {
        setBlob("KVM_SET_DEBUGREGS", Ioctls.KVM_SET_DEBUGREGS, 128, state);
    }

    /**
     * {@code KVM_KVMCLOCK_CTRL}: tells the guest's kvm-clock that the vCPU was stopped by the host,
     * so its soft-lockup watchdog does not count the pause. Returns false where the guest has no
     * kvm-clock page (EINVAL).
     */
    public boolean kvmclockCtrl() {
        try {
            LibC.ioctl(fd(), Ioctls.KVM_KVMCLOCK_CTRL, 0L);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    private byte[] getBlob(String name, long request, int size) {
        Memory buf = new Memory(size);
        buf.clear();
        ioctl(name, request, buf);
        return buf.getByteArray(0, size);
    }

    private void setBlob(String name, long request, int size, byte[] state) {
        if (state.length != size) {
            throw new IllegalArgumentException(name + " takes " + size + " bytes, not " + state.length);
        }
        Memory buf = new Memory(size);
        buf.write(0, state, 0, size);
        ioctl(name, request, buf);
    }

    /** {@code KVM_GET_TSC_KHZ}: the guest TSC frequency. */
    public int getTscKhz() {
        return ioctl("KVM_GET_TSC_KHZ", Ioctls.KVM_GET_TSC_KHZ, 0L);
    }

    @Override
    void beforeClose() {
        try {
            LibC.munmap(run, mmapSize);
        } catch (LastErrorException ignored) {
            // Safe to ignore: munmap only fails for arguments that were valid at mmap time.
        }
    }
}
