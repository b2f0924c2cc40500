package io.stratus.agent.virt;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * How a live migration may run (Nova's {@code live_migration_downtime}, {@code _bandwidth} and
 * the completion policy), as the source's driver applies it.
 *
 * @param maxDowntime  the longest the guest may be paused at the switch-over
 * @param maxRounds    copy rounds after which a migration that does not converge is aborted
 * @param maxBandwidth bytes per second at most; empty: no limit
 */
public record MigrationLimits(Duration maxDowntime, int maxRounds, OptionalLong maxBandwidth) {
    public MigrationLimits {
        Objects.requireNonNull(maxDowntime, "maxDowntime");
        Objects.requireNonNull(maxBandwidth, "maxBandwidth");
        if (maxRounds < 1) {
            throw new IllegalArgumentException("maxRounds must be at least 1, not " + maxRounds);
        }
    }

    public MigrationLimits withMaxDowntime(Duration downtime) {
        return new MigrationLimits(downtime, maxRounds, maxBandwidth);
    }
}
