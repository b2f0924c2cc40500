package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;

/**
 * What a {@link KernelLoader} put into guest memory and how to enter it.
 *
 * @param protocol how the vCPU enters the kernel
 * @param entry the first instruction
 * @param start lowest address the image occupies
 * @param end first address above the image (including its bss and, for a bzImage, the room
 *            its decompressor needs)
 * @param setupHeader the bzImage setup header to copy into {@code boot_params}, or an empty array
 * @param cmdlineMax the longest command line the kernel accepts, without the terminating NUL
 * @param initrdAddressMax highest address an initrd byte may occupy
 */
public record LoadedKernel(BootProtocol protocol, GuestAddress entry, GuestAddress start, GuestAddress end,
                           byte[] setupHeader, int cmdlineMax, long initrdAddressMax) {

    /** The ways into a kernel that the VMM implements. */
    public enum BootProtocol {
        /** 32-bit protected mode at the ELF note XEN_ELFNOTE_PHYS32_ENTRY, with {@code hvm_start_info}. */
        PVH,
        /** The Linux 64-bit boot protocol: long mode at the entry, {@code boot_params} in RSI. */
        LINUX_64
    }

    public LoadedKernel {
        setupHeader = setupHeader.clone();
    }

    @Override
    public byte[] setupHeader() {
        return setupHeader.clone();
    }
}
