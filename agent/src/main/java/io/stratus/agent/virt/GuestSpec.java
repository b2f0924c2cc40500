package io.stratus.agent.virt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A guest completely, as any driver needs it: direct kernel boot (there is no firmware), its size,
 * disks and NICs.
 *
 * @param instanceDir the instance's directory on this host, where a driver may keep what belongs
 *                    to the running guest (sockets, a pid file)
 * @param entropy     whether the guest gets an entropy device (virtio-rng)
 * @param volumes     the block storage volumes it has from the start: a {@linkplain Volume#boot boot}
 *                    volume is its first disk, the others fill the volume slots they name
 *                    ({@link Volume#slot}), then the free ones in this order
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
        Set<Integer> taken = new HashSet<>();
        for (Volume v : volumes) {
            if (!v.boot() && v.slot() != Volume.ANY_SLOT && (v.slot() >= volumeSlots || !taken.add(v.slot()))) {
                throw new HypervisorException("InvalidVolumes", "instance " + instanceId + ": volume " + v.volumeId()
                        + " names slot " + v.slot() + ", which is taken or not among its " + volumeSlots);
            }
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

    /** The volumes in its slots, in the order they fill them. */
    public List<Volume> slotVolumes() {
        return volumes.stream().filter(v -> !v.boot()).toList();
    }

    /**
     * What each volume slot holds, in slot order (empty for an empty slot): the volumes that name
     * their slot in it, the others in the free slots in order.
     */
    public List<Optional<Volume>> slotLayout() {
        List<Optional<Volume>> layout = new ArrayList<>(Collections.nCopies(volumeSlots,
                Optional.<Volume>empty()));
        List<Volume> placed = slotVolumes();
        placed.stream().filter(v -> v.slot() != Volume.ANY_SLOT).forEach(v -> layout.set(v.slot(), Optional.of(v)));
        Iterator<Volume> rest = placed.stream().filter(v -> v.slot() == Volume.ANY_SLOT).iterator();
        for (int i = 0; i < volumeSlots && rest.hasNext(); i++) {
            if (layout.get(i).isEmpty()) {
                layout.set(i, Optional.of(rest.next()));
            }
        }
        return List.copyOf(layout);
    }

    /**
     * This guest with its volumes in the slots {@code attachments} names (an attachment id per slot,
     * in slot order, "" for an empty one): a live migration's target builds the source's layout.
     *
     * @throws HypervisorException {@code InvalidVolumes}: the layout names an attachment this guest
     *                             does not have, or leaves one of its volumes out
     */
    public GuestSpec withSlots(List<String> attachments) {
        List<Volume> placed = new ArrayList<>();
        for (Volume v : volumes) {
            int slot = attachments.indexOf(v.attachmentId());
            if (!v.boot() && slot < 0) {
                throw new HypervisorException("InvalidVolumes", "instance " + instanceId + ": volume " + v.volumeId()
                        + " (attachment " + v.attachmentId() + ") is in none of the source's slots " + attachments);
            }
            placed.add(v.boot() ? v : v.inSlot(slot));
        }
        long named = attachments.stream().filter(a -> !a.isEmpty()).count();
        if (named != placed.stream().filter(v -> !v.boot()).count()) {
            throw new HypervisorException("InvalidVolumes", "instance " + instanceId + ": the source's slots "
                    + attachments + " hold volumes this host was not given");
        }
        return new GuestSpec(instanceId, instanceDir, kernel, initrd, cmdline, vcpus, memoryMiB, disks, nics, entropy,
                placed, volumeSlots, watchdog);
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
     * @param slot         the volume slot it must fill, or {@link #ANY_SLOT}
     */
    public record Volume(String volumeId, String attachmentId, NbdExport export, boolean readOnly, boolean boot,
                         int slot) {
        /** What virtio-blk keeps of a serial: the guest sees /dev/disk/by-id/virtio-<this>. */
        public static final int SERIAL_BYTES = 20;
        /** A volume that fills the next free slot. */
        public static final int ANY_SLOT = -1;

        public Volume {
            Objects.requireNonNull(volumeId, "volumeId");
            Objects.requireNonNull(attachmentId, "attachmentId");
            Objects.requireNonNull(export, "export");
        }

        /** A volume for the next free slot. */
        public Volume(String volumeId, String attachmentId, NbdExport export, boolean readOnly, boolean boot) {
            this(volumeId, attachmentId, export, readOnly, boot, ANY_SLOT);
        }

        /** This volume, in slot {@code i}. */
        public Volume inSlot(int i) {
            return new Volume(volumeId, attachmentId, export, readOnly, boot, i);
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
