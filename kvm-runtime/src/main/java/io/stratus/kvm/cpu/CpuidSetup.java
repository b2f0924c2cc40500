package io.stratus.kvm.cpu;

import io.stratus.kvm.sys.CpuidEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUID a vCPU sees: what KVM supports on this host, with this vCPU's APIC id and topology,
 * the hypervisor bit, the TSC-deadline timer of the in-kernel local APIC, and nothing the host
 * cannot run (see {@link HostProfile}).
 */
public final class CpuidSetup {
    static final int LEAF_FEATURES = 1;
    static final int LEAF_CACHE_PARAMS = 4;
    static final int LEAF_PERFMON = 0xa;
    static final int LEAF_TOPOLOGY = 0xb;
    static final int LEAF_KVM_FEATURES = 0x40000001;
    static final int LEAF_AMD_SIZES = 0x80000008;

    static final int ECX_CX16 = 1 << 13;
    static final int ECX_TSC_DEADLINE = 1 << 24;
    static final int ECX_XSAVE = 1 << 26;
    static final int ECX_OSXSAVE = 1 << 27;
    static final int ECX_AVX = 1 << 28;
    static final int ECX_HYPERVISOR = 1 << 31;
    static final int EDX_HTT = 1 << 28;

    /** KVM paravirtual features that rely on hypercalls (KVM_HC_KICK_CPU, SEND_IPI, SCHED_YIELD). */
    static final int KVM_FEATURE_PV_UNHALT = 1 << 7;
    static final int KVM_FEATURE_PV_SEND_IPI = 1 << 11;
    static final int KVM_FEATURE_PV_SCHED_YIELD = 1 << 13;

    private CpuidSetup() {
    }

    /**
     * @param supported {@code KVM_GET_SUPPORTED_CPUID}
     * @param tscDeadline the in-kernel local APIC offers the TSC-deadline timer
     */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuId, int vcpuCount,
                                           boolean tscDeadline, HostProfile host) {
        if (vcpuId < 0 || vcpuId >= vcpuCount) {
            throw new IllegalArgumentException("vCPU " + vcpuId + " of " + vcpuCount);
        }
        List<CpuidEntry> out = new ArrayList<>(supported.size() + 2);
        boolean topologyDone = false;
        for (CpuidEntry e : supported) {
            switch (e.function()) {
                case LEAF_FEATURES -> out.add(features(e, vcpuId, vcpuCount, tscDeadline, host));
                case LEAF_CACHE_PARAMS -> out.add(cacheParams(e, vcpuCount));
                case LEAF_PERFMON -> out.add(new CpuidEntry(e.function(), e.index(), e.flags(), 0, 0, 0, 0));
                case LEAF_TOPOLOGY -> {
                    if (!topologyDone) {
                        out.addAll(topology(e.flags(), vcpuId, vcpuCount));
                        topologyDone = true;
                    }
                }
                case LEAF_KVM_FEATURES -> out.add(host.emulatesGuestKernel()
                        ? e.withEax(e.eax() & ~(KVM_FEATURE_PV_UNHALT | KVM_FEATURE_PV_SEND_IPI
                                | KVM_FEATURE_PV_SCHED_YIELD))
                        : e);
                case LEAF_AMD_SIZES -> out.add(e.withEcx((e.ecx() & ~0xff) | ((vcpuCount - 1) & 0xff)));
                default -> out.add(e);
            }
        }
        return List.copyOf(out);
    }

    private static CpuidEntry features(CpuidEntry e, int vcpuId, int vcpuCount, boolean tscDeadline,
                                       HostProfile host) {
        int ebx = (e.ebx() & 0x0000ffff) | (Math.min(vcpuCount, 255) << 16) | (vcpuId << 24);
        int ecx = e.ecx() | ECX_HYPERVISOR;
        if (tscDeadline) {
            ecx |= ECX_TSC_DEADLINE;
        }
        if (host.emulatesGuestKernel()) {
            // KVM's emulator cannot run CMPXCHG16B or XSAVE/XRSTOR at CPL0 on such a host.
            ecx &= ~(ECX_CX16 | ECX_XSAVE | ECX_OSXSAVE | ECX_AVX);
        }
        int edx = vcpuCount > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT;
        return new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), ebx, ecx, edx);
    }

    private static CpuidEntry cacheParams(CpuidEntry e, int vcpuCount) {
        if ((e.eax() & 0x1f) == 0) {
            return e;
        }
        // EAX[31:26]: cores per package - 1; EAX[25:14]: logical processors sharing the cache - 1.
        int eax = (e.eax() & 0x3fff) | ((vcpuCount - 1) << 26);
        return e.withEax(eax);
    }

    private static List<CpuidEntry> topology(int flags, int vcpuId, int vcpuCount) {
        int coreShift = 32 - Integer.numberOfLeadingZeros(Math.max(vcpuCount - 1, 0));
        return List.of(
                // SMT level: one thread per core.
                new CpuidEntry(LEAF_TOPOLOGY, 0, flags, 0, 1, (1 << 8), vcpuId),
                // Core level: every vCPU a core of one package.
                new CpuidEntry(LEAF_TOPOLOGY, 1, flags, coreShift, vcpuCount, (2 << 8) | 1, vcpuId),
                // End of levels.
                new CpuidEntry(LEAF_TOPOLOGY, 2, flags, 0, 0, 2, vcpuId));
    }
}
