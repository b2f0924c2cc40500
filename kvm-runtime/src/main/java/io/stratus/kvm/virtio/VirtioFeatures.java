package io.stratus.kvm.virtio;

/** Device-independent virtio feature bits (virtio 1.2, section 6). */
public final class VirtioFeatures {
    public static final long RING_INDIRECT_DESC = 1L << 28;
    public static final long RING_EVENT_IDX = 1L << 29;
    public static final long VERSION_1 = 1L << 32;

    private VirtioFeatures() {
    }
}
