package io.stratus.kvm.snapshot;

import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.Regs;
import io.stratus.kvm.sys.SpecialRegisters;
import java.util.List;

/**
 * Everything KVM keeps for one vCPU. The byte arrays are the kernel's own structures
 * ({@code kvm_xsave} or {@code kvm_fpu}, {@code kvm_xcrs}, {@code kvm_lapic_state},
 * {@code kvm_vcpu_events}, {@code kvm_debugregs}), restored as they were read.
 *
 * @param xsave true when {@code fpu} is a 4 KiB XSAVE area, false for the 416-byte legacy FPU state
 * @param xcrs empty where the host has no KVM_CAP_XCRS
 * @param debugRegs empty where the host has no KVM_CAP_DEBUGREGS
 */
public record VcpuState(int id, Regs regs, SpecialRegisters sregs, boolean xsave, byte[] fpu, byte[] xcrs,
                        List<MsrEntry> msrs, byte[] lapic, int mpState, byte[] events, byte[] debugRegs) {
    public VcpuState {
        fpu = fpu.clone();
        xcrs = xcrs.clone();
        msrs = List.copyOf(msrs);
        lapic = lapic.clone();
        events = events.clone();
        debugRegs = debugRegs.clone();
    }

    @Override
    public byte[] fpu() {
        return fpu.clone();
    }

    @Override
    public byte[] xcrs() {
        return xcrs.clone();
    }

    @Override
    public byte[] lapic() {
        return lapic.clone();
    }

    @Override
    public byte[] events() {
        return events.clone();
    }

    @Override
    public byte[] debugRegs() {
        return debugRegs.clone();
    }
}
