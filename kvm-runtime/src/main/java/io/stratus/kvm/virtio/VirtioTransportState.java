package io.stratus.kvm.virtio;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio-mmio transport's negotiated state and its queues, for snapshots.
 *
 * @param deviceState the device's own state ({@link VirtioDevice#saveState()}), as the device
 *                    encodes it: empty for a device that keeps none
 */
public record VirtioTransportState(int status, long driverFeatures, int deviceFeaturesSel, int driverFeaturesSel,
                                   int queueSel, int interruptStatus, boolean needsReset,
                                   List<VirtQueueState> queues, byte[] deviceState) {
    public VirtioTransportState {
        queues = List.copyOf(queues);
        deviceState = deviceState.clone();
    }

    @Override
    public byte[] deviceState() {
        return deviceState.clone();
    }

    public void writeTo(StateWriter out) {
        out.writeInt(status);
        out.writeLong(driverFeatures);
        out.writeInt(deviceFeaturesSel);
        out.writeInt(driverFeaturesSel);
        out.writeInt(queueSel);
        out.writeInt(interruptStatus);
        out.writeBoolean(needsReset);
        out.writeCount(queues.size());
        for (VirtQueueState q : queues) {
            q.writeTo(out);
        }
        out.writeBlob(deviceState);
    }

    public static VirtioTransportState readFrom(StateReader in) {
        int status = in.readInt();
        long features = in.readLong();
        int dsel = in.readInt();
        int fsel = in.readInt();
        int qsel = in.readInt();
        int interrupt = in.readInt();
        boolean needsReset = in.readBoolean();
        List<VirtQueueState> queues = new ArrayList<>();
        for (int q = in.readCount(); q > 0; q--) {
            queues.add(VirtQueueState.readFrom(in));
        }
        return new VirtioTransportState(status, features, dsel, fsel, qsel, interrupt, needsReset, queues,
                in.readBlob());
    }
}
