package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The KVM system file descriptor ({@code /dev/kvm}): capabilities, supported CPUID and MSRs, new VMs. */
public final class Kvm extends NativeFd {
    /** The only KVM API version there has ever been. */
    public static final int API_VERSION = 12;

    /** The capabilities without which the VMM does not start: {@link #requireVmmCapabilities} checks them. */
    private static final KvmCapability[] VMM_CAPABILITIES = {KvmCapability.IRQCHIP, KvmCapability.USER_MEMORY,
        KvmCapability.SET_TSS_ADDR, KvmCapability.EXT_CPUID, KvmCapability.PIT2, KvmCapability.IRQFD,
        KvmCapability.IOEVENTFD, KvmCapability.MP_STATE};

    private static final int E2BIG = 7;
    private static final int CPUID_ENTRY_SIZE = 40;

    private final int vcpuMmapSize;

    private Kvm(int fd, Path device) {
        super(fd);
        try {
            int version = ioctl("KVM_GET_API_VERSION", Ioctls.KVM_GET_API_VERSION, 0L);
            if (version != API_VERSION) {
                throw new KvmUnavailableException(device + " speaks API version " + version + ", not " + API_VERSION);
            }
            this.vcpuMmapSize = ioctl("KVM_GET_VCPU_MMAP_SIZE", Ioctls.KVM_GET_VCPU_MMAP_SIZE, 0L);
        } catch (KvmException e) {
            close();
            throw e;
        }
    }

    /** Opens {@code /dev/kvm}, explaining what to do when that is impossible. */
    public static Kvm open() {
        return open(Path.of("/dev/kvm"));
    }

    /** Opens a KVM device node. */
    public static Kvm open(Path device) {
        try {
            return new Kvm(LibC.open(device.toString(), LibC.O_RDWR | LibC.O_CLOEXEC), device);
        } catch (LastErrorException e) {
            String hint = switch (e.getErrorCode()) {
                case Errno.ENOENT -> Files.exists(Path.of("/sys/module/kvm"))
                        ? "the kvm module is loaded but the device node is missing"
                        : "KVM is not available: load kvm_intel or kvm_amd, or enable virtualization in firmware";
                case Errno.EACCES, Errno.EPERM -> "permission denied: run as root or join the group that owns "
                        + device;
                default -> Errno.describe(e.getErrorCode());
            };
            throw new KvmUnavailableException("cannot open " + device + ": " + hint);
        }
    }

    /**
     * Why the VMM cannot run on {@code device} (usually {@code /dev/kvm}), or empty when it can: opens
     * the device and checks its API version and the capabilities the VMM needs, as a VM's start-up
     * does, then closes it. Cheap enough for a health check or a test condition.
     */
    public static Optional<String> unavailableReason(Path device) {
        try (Kvm kvm = open(device)) {
            kvm.requireVmmCapabilities();
            return Optional.empty();
        } catch (KvmException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** {@code KVM_CHECK_EXTENSION}: 0 when absent, otherwise a capability-specific positive value. */
    public int checkExtension(KvmCapability capability) {
        return ioctl("KVM_CHECK_EXTENSION", Ioctls.KVM_CHECK_EXTENSION, capability.number());
    }

    /** Fails with an actionable message unless every listed capability is present. */
    public void requireExtensions(KvmCapability... capabilities) {
        List<String> missing = new ArrayList<>();
        for (KvmCapability c : capabilities) {
            if (checkExtension(c) <= 0) {
                missing.add(c.name());
            }
        }
        if (!missing.isEmpty()) {
            throw new KvmUnavailableException("this host's KVM lacks capabilities the VMM needs: " + missing);
        }
    }

    /** Fails with an actionable message unless this KVM has every capability the VMM cannot start without. */
    public void requireVmmCapabilities() {
        requireExtensions(VMM_CAPABILITIES);
    }

    /** Size of the shared {@code kvm_run} area of each vCPU. */
    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** {@code KVM_GET_SUPPORTED_CPUID}: the leaves and bits KVM can present to a guest on this host. */
    public List<CpuidEntry> supportedCpuid() {
        for (int capacity = 128; capacity <= 4096; capacity *= 2) {
            Memory buf = new Memory(8 + (long) capacity * CPUID_ENTRY_SIZE);
            buf.clear();
            buf.setInt(0, capacity);
            try {
                // Safe because: the buffer holds the header and `capacity` entries, as nent says.
                LibC.ioctl(fd(), Ioctls.KVM_GET_SUPPORTED_CPUID, buf);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == E2BIG) {
                    continue;
                }
                throw new KvmException("KVM_GET_SUPPORTED_CPUID", e.getErrorCode());
            }
            return CpuidCodec.decode(buf);
        }
        throw new KvmException("KVM_GET_SUPPORTED_CPUID reports more than 4096 entries");
    }

    /** {@code KVM_GET_MSR_INDEX_LIST}: the MSRs that exist for guests on this host. */
    public int[] msrIndexList() {
        Memory probe = new Memory(4);
        probe.setInt(0, 0);
        try {
            LibC.ioctl(fd(), Ioctls.KVM_GET_MSR_INDEX_LIST, probe);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != E2BIG) {
                throw new KvmException("KVM_GET_MSR_INDEX_LIST", e.getErrorCode());
            }
        }
        int count = probe.getInt(0);
        Memory buf = new Memory(4 + 4L * Math.max(count, 1));
        buf.setInt(0, count);
        // Safe because: the buffer has room for the `count` indices the kernel just reported.
        ioctl("KVM_GET_MSR_INDEX_LIST", Ioctls.KVM_GET_MSR_INDEX_LIST, buf);
        return buf.getIntArray(4, buf.getInt(0));
    }

    /** {@code KVM_CREATE_VM} with the default machine type. */
    public VmFd createVm() {
        int vmFd = ioctl("KVM_CREATE_VM", Ioctls.KVM_CREATE_VM, 0L);
        return new VmFd(vmFd, vcpuMmapSize);
    }
}
