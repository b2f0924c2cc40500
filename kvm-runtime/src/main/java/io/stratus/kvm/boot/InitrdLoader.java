package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.memory.GuestRegion;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Puts an initrd at the top of low RAM, above the kernel and below the kernel's limit for it. */
public final class InitrdLoader {
    private InitrdLoader() {
    }

    public static InitrdRange load(Path initrd, GuestMemory memory, LoadedKernel kernel) {
        try (FileChannel file = KernelLoader.open(initrd, "initrd")) {
            long size = file.size();
            if (size == 0) {
                throw new KernelLoadException("initrd " + initrd + " is empty");
            }
            GuestRegion low = memory.regions().get(0);
            long top = Math.min(low.end().value(), kernel.initrdAddressMax() == Long.MAX_VALUE
                    ? Long.MAX_VALUE : kernel.initrdAddressMax() + 1);
            long start = (top - size) & -GuestMemory.PAGE_SIZE;
            if (top - size < 0 || start < kernel.end().value()) {
                throw new KernelLoadException("initrd " + initrd + " (" + (size >> 10) + " KiB) does not fit in guest"
                        + " RAM above the kernel; give the guest more memory");
            }
            GuestAddress at = GuestAddress.of(start);
            long copied = 0;
            while (copied < size) {
                int chunk = (int) Math.min(size - copied, 1 << 30);
                KernelLoader.copyToGuest(file, copied, memory.slice(at.add(copied), chunk));
                copied += chunk;
            }
            return new InitrdRange(at, size);
        } catch (IOException e) {
            throw new KernelLoadException("cannot read initrd " + initrd + ": " + e.getMessage(), e);
        }
    }
}
