package io.stratus.kvm.migration;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a live migration did.
 *
 * @param rounds rounds of page copying, the final one (while paused) included
 * @param pagesSent pages sent as data (raw or deflated)
 * @param zeroPages pages sent as a zero flag only
 * @param bytesOnWire bytes the stream carried in this direction, framing included
 * @param totalTime from the first byte to the end
 * @param downtime from pausing the source to the target's acknowledgement that the guest runs
 *                 there (zero for an aborted migration); on the target side, from the machine
 *                 state's arrival to the guest running
 * @param maxThrottlePercent the most the source's vCPUs were throttled
 * @param abortedReason why the migration gave up with the guest still running on the source;
 *                      empty for a completed migration
 * @param diskBytes disk content sent (received) as data, in bytes, all rounds together; 0 unless
 *                  the disks were migrated
 * @param diskZeroBytes disk ranges sent (received) as zero runs (a flag, no data), in bytes
 */
public record MigrationResult(int rounds, long pagesSent, long zeroPages, long bytesOnWire, Duration totalTime,
                              Duration downtime, int maxThrottlePercent, Optional<String> abortedReason,
                              long diskBytes, long diskZeroBytes) {
    public MigrationResult {
        Objects.requireNonNull(totalTime, "totalTime");
        Objects.requireNonNull(downtime, "downtime");
        Objects.requireNonNull(abortedReason, "abortedReason");
    }

    /** A result of a migration that moved no disk content. */
    public MigrationResult(int rounds, long pagesSent, long zeroPages, long bytesOnWire, Duration totalTime,
                           Duration downtime, int maxThrottlePercent, Optional<String> abortedReason) {
        this(rounds, pagesSent, zeroPages, bytesOnWire, totalTime, downtime, maxThrottlePercent, abortedReason, 0, 0);
    }

    /** Whether the guest now runs on the target. */
    public boolean completed() {
        return abortedReason.isEmpty();
    }

    @Override
    public String toString() {
        return (completed() ? "completed" : "aborted (" + abortedReason.get() + ")") + ": " + rounds + " rounds, "
                + pagesSent + " pages sent, " + zeroPages + " zero pages, " + bytesOnWire + " bytes on the wire, total "
                + totalTime.toMillis() + " ms, downtime " + downtime.toMillis() + " ms, throttled up to "
                + maxThrottlePercent + "%" + (diskBytes + diskZeroBytes == 0 ? ""
                : ", disks: " + diskBytes + " bytes of data, " + diskZeroBytes + " bytes of zeros");
    }
}
