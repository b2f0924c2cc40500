package io.stratus.kvm.migration;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * How a live migration runs.
 *
 * @param maxDowntime the longest the guest may stand paused at the switch-over: iteration stops
 *                    once the pages still dirty can be sent within it at the bandwidth measured so far
 * @param maxRounds rounds of copying (the first, of all memory, included) after which a migration
 *                  that has not converged is aborted; the guest keeps running on the source
 * @param bandwidthLimit bytes per second the source sends at most, or empty for as fast as the
 *                       channel takes them
 * @param throttleStep when a round's pages were dirtied faster than the link carried them, the
 *                     guest's vCPUs are held out for this many more percent of the time (0: never throttle)
 * @param maxThrottle the most the vCPUs are held out, in percent (below 100)
 * @param compress send pages that compress well deflated (fast level); costs source CPU time
 * @param migrateDisks move the writable disks' content too (shared-nothing): the target has its own
 *                     disk files of the same sizes (for a qcow2 overlay: a fresh, empty overlay over an
 *                     identical copy of the same base). Off, both hosts must reach the same disk files
 *                     (shared storage). Read-only disks are never sent; they must be identical on both.
 */
public record MigrationSettings(Duration maxDowntime, int maxRounds, OptionalLong bandwidthLimit, int throttleStep,
                                int maxThrottle, boolean compress, boolean migrateDisks) {
    public MigrationSettings {
        Objects.requireNonNull(maxDowntime, "maxDowntime");
        Objects.requireNonNull(bandwidthLimit, "bandwidthLimit");
        if (maxDowntime.isNegative() || maxDowntime.isZero()) {
            throw new IllegalArgumentException("the maximum downtime must be positive, not " + maxDowntime);
        }
        if (maxRounds < 1) {
            throw new IllegalArgumentException("a migration takes at least 1 round, not " + maxRounds);
        }
        if (bandwidthLimit.isPresent() && bandwidthLimit.getAsLong() < 4096) {
            throw new IllegalArgumentException("a bandwidth limit of " + bandwidthLimit.getAsLong()
                    + " bytes/s is below one page per second");
        }
        if (throttleStep < 0 || maxThrottle < 0 || maxThrottle > 99) {
            throw new IllegalArgumentException("throttle step " + throttleStep + "% up to " + maxThrottle
                    + "%: the step must be 0 or more, the limit 0 to 99");
        }
    }

    /** Settings for shared storage (the disks are not moved), as before disks could be migrated. */
    public MigrationSettings(Duration maxDowntime, int maxRounds, OptionalLong bandwidthLimit, int throttleStep,
                             int maxThrottle, boolean compress) {
        this(maxDowntime, maxRounds, bandwidthLimit, throttleStep, maxThrottle, compress, false);
    }

    /**
     * 300 ms downtime, 30 rounds, no bandwidth limit, throttling in steps of 20% up to 80%, no
     * compression, disks on shared storage (not moved).
     */
    public static MigrationSettings defaults() {
        return new MigrationSettings(Duration.ofMillis(300), 30, OptionalLong.empty(), 20, 80, false, false);
    }

    public MigrationSettings withMaxDowntime(Duration value) {
        return new MigrationSettings(value, maxRounds, bandwidthLimit, throttleStep, maxThrottle, compress,
                migrateDisks);
    }

    public MigrationSettings withMaxRounds(int value) {
        return new MigrationSettings(maxDowntime, value, bandwidthLimit, throttleStep, maxThrottle, compress,
                migrateDisks);
    }

    /** At most {@code bytesPerSecond} on the wire. */
    public MigrationSettings withBandwidthLimit(long bytesPerSecond) {
        return new MigrationSettings(maxDowntime, maxRounds, OptionalLong.of(bytesPerSecond), throttleStep, maxThrottle,
                compress, migrateDisks);
    }

    public MigrationSettings withThrottle(int step, int max) {
        return new MigrationSettings(maxDowntime, maxRounds, bandwidthLimit, step, max, compress, migrateDisks);
    }

    public MigrationSettings withCompression(boolean value) {
        return new MigrationSettings(maxDowntime, maxRounds, bandwidthLimit, throttleStep, maxThrottle, value,
                migrateDisks);
    }

    /** Moves the writable disks' content with the guest (see {@link #migrateDisks()}). */
    public MigrationSettings withDisks(boolean value) {
        return new MigrationSettings(maxDowntime, maxRounds, bandwidthLimit, throttleStep, maxThrottle, compress,
                value);
    }
}
