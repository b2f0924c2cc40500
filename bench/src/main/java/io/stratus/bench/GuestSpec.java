package io.stratus.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One guest as both VMMs run it: same kernel, initrd, command line, memory, vCPUs and disks.
 *
 * @param cmdline the kernel command line without a console setting (each VMM adds its own)
 */
public record GuestSpec(Path kernel, Path initrd, String cmdline, int memoryMiB, int vcpus, List<Disk> disks) {

    /**
     * A raw disk image, read-write or read-only.
     *
     * @param nbdSocket where the image is not opened by the VMM but reached over NBD: the Unix socket
     *                  of the {@code qemu-nbd} that serves {@code path} as export {@link #NBD_EXPORT}
     */
    public record Disk(Path path, boolean readOnly, Optional<Path> nbdSocket) {
        public static final String NBD_EXPORT = "vol";

        public Disk(Path path, boolean readOnly) {
            this(path, readOnly, Optional.empty());
        }

        /** {@code path} as the export {@link #NBD_EXPORT} of the qemu-nbd listening on {@code socket}. */
        public static Disk overNbd(Path path, Path socket) {
            return new Disk(path, false, Optional.of(socket));
        }
    }

    public GuestSpec {
        disks = List.copyOf(disks);
    }
}
