package io.stratus.agent.virt;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A guest completely, as any driver needs it: direct kernel boot (there is no firmware), its size,
 * disks and NICs.
 *
 * @param instanceDir the instance's directory on this host, where a driver may keep what belongs
 *                    to the running guest (sockets, a pid file)
 * @param entropy     whether the guest gets an entropy device (virtio-rng)
 * @param watchdog    whether the guest gets a watchdog device (an IB700), whose firings the guest's
 *                    {@link VirtualGuest#onWatchdog} listener hears
 */
public record GuestSpec(String instanceId, Path instanceDir, Path kernel, Optional<Path> initrd, String cmdline,
                        int vcpus, long memoryMiB, List<Disk> disks, List<Nic> nics, boolean entropy,
                        boolean watchdog) {

    public GuestSpec {
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(instanceDir, "instanceDir");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(cmdline, "cmdline");
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
    }

    /**
     * A disk, opened in its recorded format: never probed, so that a raw disk whose guest wrote a
     * qcow2 header into it stays raw (QEMU's CVE-2008-2004).
     */
    public record Disk(Path path, Format format, boolean readOnly) {
        public Disk {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(format, "format");
        }
    }

    public enum Format {
        RAW, QCOW2
    }

    /** A NIC on a TAP device; an empty MAC lets the driver pick one. */
    public record Nic(String tap, String mac) {
        public Nic {
            Objects.requireNonNull(tap, "tap");
            Objects.requireNonNull(mac, "mac");
        }
    }
}
