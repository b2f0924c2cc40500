package io.stratus.kvm.snapshot;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.virtio.block.VolumeSlotState;
import java.util.ArrayList;
import java.util.List;

/**
 * What a snapshotted guest was: the configuration it was built from and runs with again on
 * restore (the part of {@link VmSnapshot} that is not machine state).
 *
 * @param kernel             the kernel it was booted from (informational: restore does not reload it)
 * @param cmdline            the command line the kernel received, with what the VMM added
 * @param balloonStatsMillis the balloon's statistics interval, or 0 for a guest without a balloon
 * @param entropy            whether the guest has a virtio-rng device (format 2 on)
 * @param volumeSlots        how many volume slots it has (format 3 on); each slot's transport state
 *                           names the volume in it (not its data, which stays on its NBD server)
 * @param disks              in guest order; restore reattaches the same files, and connects again
 *                           to the NBD export of a disk on one (format 4 on)
 */
public record SnapshotConfig(String name, String kernel, String cmdline, long memoryBytes, int vcpus,
                             boolean mergeableMemory, long balloonStatsMillis, boolean entropy, int volumeSlots,
                             List<Disk> disks, List<Net> nets) {

    /**
     * A disk as the guest had it attached.
     *
     * @param volume for a disk on an NBD export, which volume and the capacity the guest knows
     *               (never its data, which stays on the server); {@link VolumeSlotState#EMPTY} for
     *               an image file
     */
    public record Disk(String path, boolean readOnly, String id, VolumeSlotState volume) {
        public Disk {
            if (volume.volume().isPresent()) {
                NbdVolume v = volume.volume().get();
                if (v.readOnly() != readOnly || !v.serial().equals(id) || volume.capacity() == 0) {
                    throw new IllegalArgumentException("disk '" + id + "' on " + v + " of " + volume.capacity()
                            + " bytes: a volume's disk has its serial and read-only flag, and a size");
                }
            }
        }

        /** An image file. */
        public Disk(String path, boolean readOnly, String id) {
            this(path, readOnly, id, VolumeSlotState.EMPTY);
        }
    }

    /** A network device: its TAP (opened again on restore) and MAC address. */
    public record Net(String tap, String mac) {
    }

    public SnapshotConfig {
        disks = List.copyOf(disks);
        nets = List.copyOf(nets);
    }

    /** The fields of format {@link SnapshotCodec#VERSION}, in its order. */
    void writeTo(StateWriter out) {
        out.writeUTF(name);
        out.writeUTF(kernel);
        out.writeUTF(cmdline);
        out.writeLong(memoryBytes);
        out.writeInt(vcpus);
        out.writeBoolean(mergeableMemory);
        out.writeLong(balloonStatsMillis);
        out.writeBoolean(entropy);
        out.writeInt(volumeSlots);
        out.writeCount(disks.size());
        for (Disk d : disks) {
            out.writeUTF(d.path());
            out.writeBoolean(d.readOnly());
            out.writeUTF(d.id());
            out.writeBlob(d.volume().encode());
        }
        out.writeCount(nets.size());
        for (Net n : nets) {
            out.writeUTF(n.tap());
            out.writeUTF(n.mac());
        }
    }

    /**
     * Reads the fields of format {@code version}: 1 has no entropy flag, 1 and 2 no slot count, 1 to
     * 3 no disks on NBD exports.
     */
    static SnapshotConfig readFrom(StateReader in, int version) {
        String name = in.readUTF();
        String kernel = in.readUTF();
        String cmdline = in.readUTF();
        long memory = in.readLong();
        int vcpus = in.readInt();
        boolean mergeable = in.readBoolean();
        long balloonMillis = in.readLong();
        boolean entropy = version >= 2 && in.readBoolean();
        int volumeSlots = version >= 3 ? in.readInt() : 0;
        List<Disk> disks = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            String path = in.readUTF();
            boolean readOnly = in.readBoolean();
            String id = in.readUTF();
            disks.add(new Disk(path, readOnly, id, version >= 4 ? VolumeSlotState.decode(in.readBlob())
                    : VolumeSlotState.EMPTY));
        }
        List<Net> nets = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            nets.add(new Net(in.readUTF(), in.readUTF()));
        }
        return new SnapshotConfig(name, kernel, cmdline, memory, vcpus, mergeable, balloonMillis, entropy, volumeSlots,
                disks, nets);
    }
}
