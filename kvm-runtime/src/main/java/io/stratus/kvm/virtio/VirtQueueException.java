package io.stratus.kvm.virtio;

import io.stratus.kvm.VmmException;

/**
 * The guest broke the virtqueue contract. {@link Kind} lists every way the VMM checks for;
 * {@link #head()} names the chain that is failed, or is -1 when the queue as a whole can no
 * longer be trusted (the device then needs a reset, as the virtio specification says).
 */
public final class VirtQueueException extends VmmException {

    /** Every way a guest can get a split virtqueue wrong. */
    public enum Kind {
        /** The available index moved by more than the queue size. */
        AVAIL_INDEX_JUMP(true),
        /** A ring entry or descriptor names a descriptor beyond the table. */
        DESCRIPTOR_INDEX_OUT_OF_RANGE(false),
        /** Following NEXT links revisits a descriptor or exceeds the queue size. */
        CHAIN_TOO_LONG(false),
        /** A buffer lies (partly) outside guest RAM, or its end overflows. */
        BUFFER_OUTSIDE_MEMORY(false),
        /** An indirect table that is empty, not a multiple of 16 bytes, nested, or combined with NEXT. */
        BAD_INDIRECT_TABLE(false),
        /** A device-readable buffer after a device-writable one. */
        READABLE_AFTER_WRITABLE(false),
        /** The chain's buffers add up to more than the VMM accepts for one request. */
        CHAIN_TOO_LARGE(false),
        /** The descriptor table or a ring lies outside guest RAM or is misaligned. */
        RING_OUTSIDE_MEMORY(true);

        private final boolean fatalForQueue;

        Kind(boolean fatalForQueue) {
            this.fatalForQueue = fatalForQueue;
        }

        /** Whether the whole queue is unusable (device needs reset), not just one chain. */
        public boolean fatalForQueue() {
            return fatalForQueue;
        }
    }

    private final Kind kind;
    private final int head;

    public VirtQueueException(Kind kind, int head, String message) {
        super(message);
        this.kind = kind;
        this.head = head;
    }

    public Kind kind() {
        return kind;
    }

    /** The head index of the failed chain, or -1 when the queue itself is broken. */
    public int head() {
        return head;
    }
}
