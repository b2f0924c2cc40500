package io.stratus.kvm.virtio.net;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one virtio-net device. */
public final class NetMetrics {
    final LongAdder rxPackets = new LongAdder();
    final LongAdder rxBytes = new LongAdder();
    final LongAdder rxDropped = new LongAdder();
    final LongAdder txPackets = new LongAdder();
    final LongAdder txBytes = new LongAdder();
    final LongAdder txDropped = new LongAdder();
    final LongAdder invalidChains = new LongAdder();

    /** A point-in-time copy. */
    public record Snapshot(long rxPackets, long rxBytes, long rxDropped, long txPackets, long txBytes, long txDropped,
                           long invalidChains) {
    }

    public Snapshot snapshot() {
        return new Snapshot(rxPackets.sum(), rxBytes.sum(), rxDropped.sum(), txPackets.sum(), txBytes.sum(),
                txDropped.sum(), invalidChains.sum());
    }
}
