package io.stratus.kvm.virtio;

import java.util.List;

/**
 * A request the guest made available, validated: every buffer lies in guest RAM, device-readable
 * buffers come first.
 *
 * @param head the index that identifies the chain in the used ring
 */
public record DescriptorChain(int head, List<Descriptor> descriptors) {
    public DescriptorChain {
        descriptors = List.copyOf(descriptors);
    }

    /** Total bytes the device may read. */
    public long readableBytes() {
        return descriptors.stream().filter(d -> !d.writable()).mapToLong(Descriptor::length).sum();
    }

    /** Total bytes the device may write. */
    public long writableBytes() {
        return descriptors.stream().filter(Descriptor::writable).mapToLong(Descriptor::length).sum();
    }
}
