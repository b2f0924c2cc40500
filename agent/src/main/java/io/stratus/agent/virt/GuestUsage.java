package io.stratus.agent.virt;

/**
 * Cumulative use of an instance's guest, across every VM it ran in (stop/start and reboots start
 * new VMs; the counters go on). Gauges ({@code balloonActualBytes}, {@code guestAvailableBytes})
 * are the current VM's.
 */
public record GuestUsage(double cpuSeconds, long diskReadBytes, long diskWriteBytes, long diskReadOps,
                         long diskWriteOps, long netRxBytes, long netTxBytes, long netRxPackets, long netTxPackets,
                         long balloonActualBytes, long guestAvailableBytes) {
    public static final GuestUsage NONE = new GuestUsage(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** This VM's counters on top of {@code earlier} VMs' totals. */
    public GuestUsage after(GuestUsage earlier) {
        return new GuestUsage(earlier.cpuSeconds + cpuSeconds, earlier.diskReadBytes + diskReadBytes,
                earlier.diskWriteBytes + diskWriteBytes, earlier.diskReadOps + diskReadOps,
                earlier.diskWriteOps + diskWriteOps, earlier.netRxBytes + netRxBytes, earlier.netTxBytes + netTxBytes,
                earlier.netRxPackets + netRxPackets, earlier.netTxPackets + netTxPackets, balloonActualBytes,
                guestAvailableBytes);
    }

    /** The counters only, gauges zeroed: what a VM leaves behind when it ends. */
    public GuestUsage countersOnly() {
        return new GuestUsage(cpuSeconds, diskReadBytes, diskWriteBytes, diskReadOps, diskWriteOps, netRxBytes,
                netTxBytes, netRxPackets, netTxPackets, 0, 0);
    }
}
