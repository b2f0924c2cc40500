package io.stratus.kvm.snapshot;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
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
 * @param disks              in guest order; restore reattaches the same files
 */
public record SnapshotConfig(String name, String kernel, String cmdline, long memoryBytes, int vcpus,
                             boolean mergeableMemory, long balloonStatsMillis, boolean entropy, int volumeSlots,
                             List<Disk> disks, List<Net> nets) {

    /** A disk as the guest had it attached. */
    public record Disk(String path, boolean readOnly, String id) {
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
        }
        out.writeCount(nets.size());
        for (Net n : nets) {
            out.writeUTF(n.tap());
            out.writeUTF(n.mac());
        }
    }

    /** Reads the fields of format {@code version}: 1 has no entropy flag, 1 and 2 no slot count. */
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
            disks.add(new Disk(in.readUTF(), in.readBoolean(), in.readUTF()));
        }
        List<Net> nets = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            nets.add(new Net(in.readUTF(), in.readUTF()));
        }
        return new SnapshotConfig(name, kernel, cmdline, memory, vcpus, mergeable, balloonMillis, entropy, volumeSlots,
                disks, nets);
    }
}
