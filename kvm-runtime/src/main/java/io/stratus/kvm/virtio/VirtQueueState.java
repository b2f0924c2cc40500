package io.stratus.kvm.virtio;

/** What a snapshot keeps of a virtqueue: the driver's configuration and the device's indices. */
public record VirtQueueState(int size, boolean ready, long descriptorTable, long availRing, long usedRing,
                             boolean eventIdx, int nextAvail, int nextUsed) {
}
