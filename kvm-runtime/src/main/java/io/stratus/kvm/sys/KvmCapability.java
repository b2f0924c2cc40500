package io.stratus.kvm.sys;

/** The KVM capabilities the VMM asks about ({@code KVM_CHECK_EXTENSION} numbers). */
public enum KvmCapability {
    IRQCHIP(0),
    USER_MEMORY(3),
    SET_TSS_ADDR(4),
    EXT_CPUID(7),
    NR_VCPUS(9),
    NR_MEMSLOTS(10),
    MP_STATE(14),
    IRQFD(32),
    PIT2(33),
    PIT_STATE2(35),
    IOEVENTFD(36),
    SET_IDENTITY_MAP_ADDR(37),
    ADJUST_CLOCK(39),
    VCPU_EVENTS(41),
    DEBUGREGS(50),
    XSAVE(55),
    XCRS(56),
    MAX_VCPUS(66),
    TSC_DEADLINE_TIMER(72),
    IMMEDIATE_EXIT(136);

    private final int number;

    KvmCapability(int number) {
        this.number = number;
    }

    /** The capability's number in the KVM API. */
    public int number() {
        return number;
    }
}
