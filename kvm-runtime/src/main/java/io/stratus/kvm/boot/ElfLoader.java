package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Loads an ELF64 x86-64 kernel (Linux's {@code vmlinux} or a test guest) at its physical
 * addresses. With a {@code XEN_ELFNOTE_PHYS32_ENTRY} note it is entered through PVH, as
 * Firecracker and Cloud Hypervisor do; without one, through the Linux 64-bit boot protocol at
 * {@code e_entry}.
 */
final class ElfLoader {
    private static final int PT_LOAD = 1;
    private static final int PT_NOTE = 4;
    private static final int EM_X86_64 = 62;
    private static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    private static final int MAX_PHDRS = 512;
    private static final long LINUX_CMDLINE_MAX = 2047;

    private ElfLoader() {
    }

    static LoadedKernel load(Path path, FileChannel file, GuestMemory memory) throws IOException {
        long fileSize = file.size();
        ByteBuffer eh = KernelLoader.read(file, 0, 64);
        if (eh.limit() < 64) {
            throw bad(path, "truncated ELF header");
        }
        if (eh.get(4) != 2) {
            throw bad(path, "not a 64-bit ELF (EI_CLASS " + eh.get(4) + ")");
        }
        if (eh.get(5) != 1) {
            throw bad(path, "not little-endian");
        }
        int machine = eh.getShort(18) & 0xffff;
        if (machine != EM_X86_64) {
            throw bad(path, "built for ELF machine " + machine + ", not x86-64 (62)");
        }
        long entry = eh.getLong(24);
        long phoff = eh.getLong(32);
        int phentsize = eh.getShort(54) & 0xffff;
        int phnum = eh.getShort(56) & 0xffff;
        if (phentsize < 56 || phnum == 0 || phnum > MAX_PHDRS) {
            throw bad(path, "implausible program header table (" + phnum + " entries of " + phentsize + " bytes)");
        }
        if (phoff < 0 || phoff > fileSize || (long) phentsize * phnum > fileSize - phoff) {
            throw bad(path, "program header table lies outside the file");
        }
        ByteBuffer ph = KernelLoader.read(file, phoff, phentsize * phnum);

        long low = Long.MAX_VALUE;
        long high = 0;
        Long pvhEntry = null;
        int loads = 0;
        for (int i = 0; i < phnum; i++) {
            int o = i * phentsize;
            int type = ph.getInt(o);
            long offset = ph.getLong(o + 8);
            long paddr = ph.getLong(o + 24);
            long filesz = ph.getLong(o + 32);
            long memsz = ph.getLong(o + 40);
            if (type == PT_NOTE) {
                if (offset < 0 || filesz < 0 || filesz > 1 << 20 || offset > fileSize - filesz) {
                    throw bad(path, "note segment " + i + " lies outside the file");
                }
                Long found = findPvhEntry(KernelLoader.read(file, offset, (int) filesz));
                if (found != null) {
                    pvhEntry = found;
                }
                continue;
            }
            if (type != PT_LOAD || memsz == 0) {
                continue;
            }
            loads++;
            if (filesz < 0 || memsz < 0 || filesz > memsz) {
                throw bad(path, "segment " + i + " has file size " + filesz + " above its memory size " + memsz);
            }
            if (offset < 0 || offset > fileSize - filesz) {
                throw bad(path, "segment " + i + " lies outside the file (truncated kernel?)");
            }
            if (paddr < BootLayout.KERNEL_MIN_ADDRESS) {
                throw bad(path, "segment " + i + " loads at 0x" + Long.toHexString(paddr)
                        + ", below 1 MiB where the VMM keeps its boot structures");
            }
            GuestAddress at = GuestAddress.of(paddr);
            if (!memory.isValidRange(at, memsz)) {
                throw new KernelLoadException("kernel " + path + " needs guest RAM up to 0x"
                        + Long.toHexString(paddr + memsz) + " (" + mib(paddr + memsz)
                        + " MiB); give the guest more memory");
            }
            long copied = 0;
            while (copied < filesz) {
                int chunk = (int) Math.min(filesz - copied, 1 << 30);
                KernelLoader.copyToGuest(file, offset + copied, memory.slice(at.add(copied), chunk));
                copied += chunk;
            }
            if (memsz > filesz) {
                memory.fill(at.add(filesz), memsz - filesz, (byte) 0);
            }
            low = Math.min(low, paddr);
            high = Math.max(high, paddr + memsz);
        }
        if (loads == 0) {
            throw bad(path, "no loadable segments");
        }
        if (pvhEntry != null) {
            if (pvhEntry < low || pvhEntry >= high) {
                throw bad(path, "PVH entry 0x" + Long.toHexString(pvhEntry) + " is outside the loaded image");
            }
            return new LoadedKernel(LoadedKernel.BootProtocol.PVH, GuestAddress.of(pvhEntry), GuestAddress.of(low),
                    GuestAddress.of(high), new byte[0], (int) LINUX_CMDLINE_MAX, Long.MAX_VALUE);
        }
        if (entry < low || entry >= high) {
            throw bad(path, "has no PVH note and its entry 0x" + Long.toHexString(entry)
                    + " is not a physical address in the image");
        }
        return new LoadedKernel(LoadedKernel.BootProtocol.LINUX_64, GuestAddress.of(entry), GuestAddress.of(low),
                GuestAddress.of(high), new byte[0], (int) LINUX_CMDLINE_MAX, Long.MAX_VALUE);
    }

    /** Walks ELF notes for Xen's PHYS32_ENTRY; every size is checked against the segment. */
    static Long findPvhEntry(ByteBuffer notes) {
        int pos = 0;
        int limit = notes.limit();
        while (limit - pos >= 12) {
            long namesz = notes.getInt(pos) & 0xffffffffL;
            long descsz = notes.getInt(pos + 4) & 0xffffffffL;
            int type = notes.getInt(pos + 8);
            long nameStart = pos + 12L;
            long descStart = nameStart + align4(namesz);
            long next = descStart + align4(descsz);
            if (next > limit) {
                return null;
            }
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && notes.get((int) nameStart) == 'X'
                    && notes.get((int) nameStart + 1) == 'e' && notes.get((int) nameStart + 2) == 'n'
                    && notes.get((int) nameStart + 3) == 0) {
                if (descsz == 4) {
                    return notes.getInt((int) descStart) & 0xffffffffL;
                }
                if (descsz == 8) {
                    return notes.getLong((int) descStart) & 0xffffffffL;
                }
            }
            pos = (int) next;
        }
        return null;
    }

    private static long align4(long v) {
        return (v + 3) & ~3L;
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    private static KernelLoadException bad(Path path, String what) {
        return new KernelLoadException("kernel " + path + " is not a loadable ELF kernel: " + what);
    }
}
