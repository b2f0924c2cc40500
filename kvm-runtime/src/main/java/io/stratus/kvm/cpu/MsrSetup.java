package io.stratus.kvm.cpu;

import io.stratus.kvm.sys.MsrEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * The MSR values a vCPU starts with, as Firecracker sets them: syscall MSRs cleared, the TSC at
 * zero, fast strings enabled. Only MSRs that KVM lists for this host are written: writing an MSR
 * the host lacks (IA32_ARCH_CAPABILITIES on nested or emulating hosts) fails the whole call.
 */
public final class MsrSetup {
    static final int IA32_TSC = 0x10;
    static final int IA32_SYSENTER_CS = 0x174;
    static final int IA32_SYSENTER_ESP = 0x175;
    static final int IA32_SYSENTER_EIP = 0x176;
    static final int IA32_MISC_ENABLE = 0x1a0;
    static final int IA32_MTRR_DEF_TYPE = 0x2ff;
    static final int STAR = 0xc0000081;
    static final int LSTAR = 0xc0000082;
    static final int CSTAR = 0xc0000083;
    static final int SYSCALL_MASK = 0xc0000084;
    static final int KERNEL_GS_BASE = 0xc0000102;

    private static final long MISC_ENABLE_FAST_STRING = 1;
    /** MTRRs enabled, default memory type write-back. */
    private static final long MTRR_ENABLE_WRITEBACK = (1 << 11) | 6;

    private MsrSetup() {
    }

    /** The boot MSRs that appear in {@code supportedIndices} ({@code KVM_GET_MSR_INDEX_LIST}). */
    public static List<MsrEntry> bootMsrs(int[] supportedIndices) {
        List<MsrEntry> wanted = List.of(
                new MsrEntry(IA32_SYSENTER_CS, 0),
                new MsrEntry(IA32_SYSENTER_ESP, 0),
                new MsrEntry(IA32_SYSENTER_EIP, 0),
                new MsrEntry(STAR, 0),
                new MsrEntry(CSTAR, 0),
                new MsrEntry(KERNEL_GS_BASE, 0),
                new MsrEntry(SYSCALL_MASK, 0),
                new MsrEntry(LSTAR, 0),
                new MsrEntry(IA32_TSC, 0),
                new MsrEntry(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
                new MsrEntry(IA32_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK));
        List<MsrEntry> out = new ArrayList<>();
        for (MsrEntry m : wanted) {
            for (int index : supportedIndices) {
                if (index == m.index()) {
                    out.add(m);
                    break;
                }
            }
        }
        return List.copyOf(out);
    }
}
