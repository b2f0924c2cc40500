package io.stratus.kvm.virtio;

import java.util.List;

/** A virtio-mmio transport's negotiated state and its queues, for snapshots. */
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
}
