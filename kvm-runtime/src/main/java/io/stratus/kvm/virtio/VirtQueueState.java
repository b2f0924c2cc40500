package io.stratus.kvm.virtio;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;

/** What a snapshot keeps of a virtqueue: the driver's configuration and the device's indices. */
public record VirtQueueState(int size, boolean ready, long descriptorTable, long availRing, long usedRing,
                             boolean eventIdx, int nextAvail, int nextUsed) {

    public void writeTo(StateWriter out) {
        out.writeInt(size);
        out.writeBoolean(ready);
        out.writeLong(descriptorTable);
        out.writeLong(availRing);
        out.writeLong(usedRing);
        out.writeBoolean(eventIdx);
        out.writeInt(nextAvail);
        out.writeInt(nextUsed);
    }

    public static VirtQueueState readFrom(StateReader in) {
        return new VirtQueueState(in.readInt(), in.readBoolean(), in.readLong(), in.readLong(), in.readLong(),
                in.readBoolean(), in.readInt(), in.readInt());
    }
}
