package io.stratus.kvm.virtio.block;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one virtio-blk device, updated by its queue threads. */
public final class BlockMetrics {
    final LongAdder readOps = new LongAdder();
    final LongAdder readBytes = new LongAdder();
    final LongAdder writeOps = new LongAdder();
    final LongAdder writeBytes = new LongAdder();
    final LongAdder flushes = new LongAdder();
    final LongAdder discards = new LongAdder();
    final LongAdder failedRequests = new LongAdder();
    final LongAdder invalidChains = new LongAdder();

    /** A point-in-time copy of the counters. */
    public record Snapshot(long readOps, long readBytes, long writeOps, long writeBytes, long flushes, long discards,
                           long failedRequests, long invalidChains) {
    }

    public Snapshot snapshot() {
        return new Snapshot(readOps.sum(), readBytes.sum(), writeOps.sum(), writeBytes.sum(), flushes.sum(),
                discards.sum(), failedRequests.sum(), invalidChains.sum());
    }
}
