package io.stratus.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * One guest as both VMMs run it: same kernel, initrd, command line, memory, vCPUs and disks.
 *
 * @param cmdline the kernel command line without a console setting (each VMM adds its own)
 */
public record GuestSpec(Path kernel, Path initrd, String cmdline, int memoryMiB, int vcpus, List<Disk> disks) {

    /** A raw disk image, read-write or read-only. */
    public record Disk(Path path, boolean readOnly) {
    }

    public GuestSpec {
        disks = List.copyOf(disks);
    }
}
