package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Loads a bzImage by the Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the
 * protected-mode part goes to its preferred address and is entered in 64-bit mode at
 * offset 0x200; the setup header travels to the kernel in {@code boot_params}.
 */
final class BzImageLoader {
    static final int HEADER_START = 0x1f1;
    private static final int MIN_PROTOCOL = 0x020c;
    private static final int XLF_KERNEL_64 = 1;
    private static final int LOADED_HIGH = 1;

    private BzImageLoader() {
    }

    static LoadedKernel load(Path path, FileChannel file, GuestMemory memory) throws IOException {
        long fileSize = file.size();
        ByteBuffer head = KernelLoader.read(file, 0, 0x280);
        if (head.limit() < 0x268) {
            throw bad(path, "setup header is truncated");
        }
        int protocol = head.getShort(0x206) & 0xffff;
        if (protocol < MIN_PROTOCOL) {
            throw bad(path, String.format("boot protocol %d.%02d has no 64-bit entry (2.12 or later needed)",
                    protocol >> 8, protocol & 0xff));
        }
        if ((head.get(0x236) & XLF_KERNEL_64) == 0) {
            throw bad(path, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
        }
        if ((head.get(0x211) & LOADED_HIGH) == 0) {
            throw bad(path, "a zImage (loaded low), not a bzImage");
        }
        int setupSects = head.get(HEADER_START) & 0xff;
        if (setupSects == 0) {
            setupSects = 4;
        }
        long kernelOffset = (setupSects + 1L) * 512;
        if (kernelOffset >= fileSize) {
            throw bad(path, "no protected-mode kernel after " + setupSects + " setup sectors (truncated?)");
        }
        long kernelSize = fileSize - kernelOffset;
        long syssize = (head.getInt(0x1f4) & 0xffffffffL) * 16;
        // syssize counts 16-byte paragraphs, rounded up: up to 15 bytes past the end are padding.
        if (syssize - kernelSize >= 16) {
            throw bad(path, "truncated: header says " + syssize + " bytes of kernel, file has " + kernelSize);
        }
        long prefAddress = head.getLong(0x258);
        long initSize = head.getInt(0x260) & 0xffffffffL;
        long loadAddress = prefAddress >= BootLayout.KERNEL_MIN_ADDRESS ? prefAddress : BootLayout.KERNEL_MIN_ADDRESS;
        long end = loadAddress + Math.max(kernelSize, initSize);
        GuestAddress at = GuestAddress.of(loadAddress);
        if (!memory.isValidRange(at, end - loadAddress)) {
            throw new KernelLoadException("kernel " + path + " needs guest RAM up to 0x" + Long.toHexString(end)
                    + " (" + ((end + (1 << 20) - 1) >> 20) + " MiB) to decompress; give the guest more memory");
        }
        KernelLoader.copyToGuest(file, kernelOffset, memory.slice(at, (int) kernelSize));

        int headerEnd = 0x202 + (head.get(0x201) & 0xff);
        if (headerEnd > head.limit() || headerEnd < 0x268) {
            throw bad(path, "setup header length " + (headerEnd - HEADER_START) + " is implausible");
        }
        byte[] header = new byte[headerEnd - HEADER_START];
        head.get(HEADER_START, header);
        int cmdlineSize = head.getInt(0x238);
        long initrdMax = head.getInt(0x22c) & 0xffffffffL;
        return new LoadedKernel(LoadedKernel.BootProtocol.LINUX_64, at.add(0x200), at, GuestAddress.of(end), header,
                cmdlineSize > 0 ? cmdlineSize : 255, initrdMax);
    }

    private static KernelLoadException bad(Path path, String what) {
        return new KernelLoadException("kernel " + path + " is not a usable bzImage: " + what);
    }
}
