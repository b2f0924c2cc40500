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
 * @param volumes     the block storage volumes it has from the start: a {@linkplain Volume#boot boot}
 *                    volume is its first disk, the others fill its volume slots in this order
 * @param volumeSlots how many disks it has for volumes (filled or empty), where the driver attaches
 *                    volumes to a running guest ({@link VirtualGuest#attachVolume}); virtio-mmio has
 *                    no hotplug, so a guest gets them at boot
 * @param watchdog    whether the guest gets a watchdog device (an IB700), whose firings the guest's
 *                    {@link VirtualGuest#onWatchdog} listener hears
 */
public record GuestSpec(String instanceId, Path instanceDir, Path kernel, Optional<Path> initrd, String cmdline,
                        int vcpus, long memoryMiB, List<Disk> disks, List<Nic> nics, boolean entropy,
                        List<Volume> volumes, int volumeSlots, boolean watchdog) {

    public GuestSpec {
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(instanceDir, "instanceDir");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(cmdline, "cmdline");
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        volumes = List.copyOf(volumes);
        long others = volumes.stream().filter(v -> !v.boot()).count();
        if (volumes.stream().filter(Volume::boot).count() > 1) {
            throw new HypervisorException("InvalidVolumes", "instance " + instanceId + " has more than one boot volume");
        }
        if (others > volumeSlots) {
            throw new HypervisorException("NoFreeDiskSlot", "instance " + instanceId + " has " + others
                    + " volumes and " + volumeSlots + " disk slots for them");
        }
    }

    /** A guest without volumes or slots for them. */
    public GuestSpec(String instanceId, Path instanceDir, Path kernel, Optional<Path> initrd, String cmdline,
                     int vcpus, long memoryMiB, List<Disk> disks, List<Nic> nics, boolean entropy) {
        this(instanceId, instanceDir, kernel, initrd, cmdline, vcpus, memoryMiB, disks, nics, entropy, List.of(), 0,
                false);
    }

    /** The volume the guest boots from, if it boots from one. */
    public Optional<Volume> bootVolume() {
        return volumes.stream().filter(Volume::boot).findFirst();
    }

    /** The volumes in its slots, in slot order. */
    public List<Volume> slotVolumes() {
        return volumes.stream().filter(v -> !v.boot()).toList();
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

    /**
     * A block storage volume as one of the guest's disks, its data on an NBD server.
     *
     * @param attachmentId what makes a repeated attach of the same volume recognisable
     * @param boot         the guest's root disk
     */
    public record Volume(String volumeId, String attachmentId, NbdExport export, boolean readOnly, boolean boot) {
        /** What virtio-blk keeps of a serial: the guest sees /dev/disk/by-id/virtio-<this>. */
        public static final int SERIAL_BYTES = 20;

        public Volume {
            Objects.requireNonNull(volumeId, "volumeId");
            Objects.requireNonNull(attachmentId, "attachmentId");
            Objects.requireNonNull(export, "export");
        }

        /** The disk's serial: the volume id's first 20 characters, as Nova's volumes appear. */
        public String serial() {
            return volumeId.length() <= SERIAL_BYTES ? volumeId : volumeId.substring(0, SERIAL_BYTES);
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
