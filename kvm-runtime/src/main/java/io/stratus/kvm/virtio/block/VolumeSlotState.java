package io.stratus.kvm.virtio.block;

import io.stratus.kvm.persist.StateFormatException;
import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import java.util.Optional;

/**
 * Which volume a volume slot holds, never its data (that stays on its NBD server, shared storage
 * the snapshot's or migration's target reaches too). Its transport carries it as the device's
 * state: "VSL1", a flag, and for a held volume its id, server, export, read-only flag and the
 * capacity the guest knows.
 *
 * @param volume   empty for an empty slot
 * @param capacity the size the guest was told, in bytes; 0 for an empty slot
 */
public record VolumeSlotState(Optional<NbdVolume> volume, long capacity) {
    /** "VSL1". */
    static final int MAGIC = 0x56534c31;
    public static final VolumeSlotState EMPTY = new VolumeSlotState(Optional.empty(), 0);

    public VolumeSlotState {
        if (capacity < 0 || (volume.isEmpty() && capacity != 0)) {
            throw new IllegalArgumentException("a volume slot's state: capacity " + capacity
                    + (volume.isEmpty() ? " for an empty slot" : ""));
        }
    }

    public byte[] encode() {
        StateWriter out = new StateWriter().writeInt(MAGIC).writeBoolean(volume.isPresent());
        volume.ifPresent(v -> out.writeUTF(v.volumeId()).writeUTF(v.server()).writeUTF(v.export())
                .writeBoolean(v.readOnly()).writeLong(capacity));
        return out.toByteArray();
    }

    /**
     * @throws StateFormatException the bytes are not a slot's state, are cut short, or name an
     *                              unusable server address
     */
    public static VolumeSlotState decode(byte[] bytes) {
        StateReader in = new StateReader(bytes);
        if (bytes.length < 5 || in.readInt() != MAGIC) {
            throw new StateFormatException("the snapshot holds no volume slot's state");
        }
        if (!in.readBoolean()) {
            return EMPTY;
        }
        NbdVolume v;
        long capacity;
        try {
            v = new NbdVolume(in.readUTF(), in.readUTF(), in.readUTF(), in.readBoolean());
            capacity = in.readLong();
        } catch (StateFormatException e) {
            throw new StateFormatException("a volume slot's state is cut short", e);
        }
        return new VolumeSlotState(Optional.of(v), capacity);
    }
}
