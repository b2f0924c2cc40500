package io.stratus.kvm.cpu;

import io.stratus.kvm.sys.CpuidEntry;
import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.VcpuFd;
import java.util.List;

/**
 * How an x86 vCPU starts, before any kernel is loaded (Firecracker's {@code arch/x86_64}
 * {@code configure_vcpu}): its CPUID, boot MSRs, the FPU and SSE control words a reset CPU has,
 * and its local APIC's LINT pins wired as a PC BIOS leaves them.
 */
public final class VcpuSetup {
    private static final int LAPIC_LVT_LINT0 = 0x350;
    private static final int LAPIC_LVT_LINT1 = 0x360;
    private static final int APIC_MODE_NMI = 0x4;
    private static final int APIC_MODE_EXTINT = 0x7;
    private static final int FPU_CONTROL_WORD = 0x37f;
    private static final int MXCSR_DEFAULT = 0x1f80;

    private VcpuSetup() {
    }

    /** Sets a freshly created vCPU up: {@code cpuid} and {@code msrs} as computed for it, then the FPU and LAPIC defaults. */
    public static void configure(VcpuFd fd, List<CpuidEntry> cpuid, List<MsrEntry> msrs) {
        fd.setCpuid(cpuid);
        fd.setMsrs(msrs);
        fd.setFpu(FPU_CONTROL_WORD, MXCSR_DEFAULT);
        configureLocalInterrupts(fd);
    }

    /** LINT0 as ExtINT (the PIC's virtual wire) and LINT1 as NMI, as a PC BIOS leaves them. */
    private static void configureLocalInterrupts(VcpuFd fd) {
        byte[] lapic = fd.getLapic();
        setDeliveryMode(lapic, LAPIC_LVT_LINT0, APIC_MODE_EXTINT);
        setDeliveryMode(lapic, LAPIC_LVT_LINT1, APIC_MODE_NMI);
        fd.setLapic(lapic);
    }

    /** Sets the delivery mode (bits 8 to 10) of the LVT register at {@code register} in a {@code kvm_lapic_state}. */
    static void setDeliveryMode(byte[] lapic, int register, int mode) {
        int value = (lapic[register] & 0xff) | (lapic[register + 1] & 0xff) << 8 | (lapic[register + 2] & 0xff) << 16
                | (lapic[register + 3] & 0xff) << 24;
        value = (value & ~0x700) | (mode << 8);
        for (int i = 0; i < 4; i++) {
            lapic[register + i] = (byte) (value >>> (8 * i));
        }
    }
}
