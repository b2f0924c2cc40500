package io.stratus.kvm.sys;

/**
 * KVM ioctl request numbers, encoded as the kernel's {@code _IO/_IOR/_IOW/_IOWR} macros do
 * (direction in bits 30-31, argument size in bits 16-29, type 0xAE, number).
 */
final class Ioctls {
    private static final int KVMIO = 0xAE;

    private Ioctls() {
    }

    static long io(int nr) {
        return (KVMIO << 8) | nr;
    }

    static long ior(int nr, int size) {
        return (2L << 30) | ((long) size << 16) | (KVMIO << 8) | nr;
    }

    static long iow(int nr, int size) {
        return (1L << 30) | ((long) size << 16) | (KVMIO << 8) | nr;
    }

    static long iowr(int nr, int size) {
        return (3L << 30) | ((long) size << 16) | (KVMIO << 8) | nr;
    }

    // System ioctls.
    static final long KVM_GET_API_VERSION = io(0x00);
    static final long KVM_CREATE_VM = io(0x01);
    static final long KVM_GET_MSR_INDEX_LIST = iowr(0x02, 4);
    static final long KVM_CHECK_EXTENSION = io(0x03);
    static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, 8);

    // VM ioctls.
    static final long KVM_CREATE_VCPU = io(0x41);
    static final long KVM_GET_DIRTY_LOG = iow(0x42, 16);
    static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);
    static final long KVM_SET_TSS_ADDR = io(0x47);
    static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    static final long KVM_CREATE_IRQCHIP = io(0x60);
    static final long KVM_IRQ_LINE = iow(0x61, 8);
    static final long KVM_GET_IRQCHIP = iowr(0x62, 520);
    static final long KVM_SET_IRQCHIP = ior(0x63, 520);
    static final long KVM_IRQFD = iow(0x76, 32);
    static final long KVM_CREATE_PIT2 = iow(0x77, 64);
    static final long KVM_IOEVENTFD = iow(0x79, 64);
    static final long KVM_SET_CLOCK = iow(0x7b, 48);
    static final long KVM_GET_CLOCK = ior(0x7c, 48);
    static final long KVM_GET_PIT2 = ior(0x9f, 112);
    static final long KVM_SET_PIT2 = iow(0xa0, 112);

    // vCPU ioctls.
    static final long KVM_RUN = io(0x80);
    static final long KVM_GET_REGS = ior(0x81, 144);
    static final long KVM_SET_REGS = iow(0x82, 144);
    static final long KVM_GET_SREGS = ior(0x83, 312);
    static final long KVM_SET_SREGS = iow(0x84, 312);
    static final long KVM_TRANSLATE = iowr(0x85, 24);
    static final long KVM_GET_MSRS = iowr(0x88, 8);
    static final long KVM_SET_MSRS = iow(0x89, 8);
    static final long KVM_SET_SIGNAL_MASK = iow(0x8b, 4);
    static final long KVM_GET_FPU = ior(0x8c, 416);
    static final long KVM_SET_FPU = iow(0x8d, 416);
    static final long KVM_GET_LAPIC = ior(0x8e, 1024);
    static final long KVM_SET_LAPIC = iow(0x8f, 1024);
    static final long KVM_SET_CPUID2 = iow(0x90, 8);
    static final long KVM_GET_MP_STATE = ior(0x98, 4);
    static final long KVM_SET_MP_STATE = iow(0x99, 4);
    static final long KVM_GET_VCPU_EVENTS = ior(0x9f, 64);
    static final long KVM_SET_VCPU_EVENTS = iow(0xa0, 64);
    static final long KVM_GET_TSC_KHZ = io(0xa3);
    static final long KVM_GET_XSAVE = ior(0xa4, 4096);
    static final long KVM_SET_XSAVE = iow(0xa5, 4096);
    static final long KVM_GET_XCRS = ior(0xa6, 392);
    static final long KVM_SET_XCRS = iow(0xa7, 392);
    static final long KVM_GET_DEBUGREGS = ior(0xa1, 128);
    static final long KVM_SET_DEBUGREGS = iow(0xa2, 128);
    static final long KVM_KVMCLOCK_CTRL = io(0xad);
}
