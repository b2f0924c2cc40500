package io.stratus.agent.virt;

import java.time.Duration;
import java.util.Optional;

/**
 * How a live migration's sending ended, when the link held.
 *
 * @param aborted  why the source gave up (the guest did not converge within the limits); empty
 *                 when the guest runs on the target now
 * @param total    from the first byte to the end
 * @param downtime how long the guest was paused for the switch-over, where it completed
 * @param summary  the driver's figures, for the log
 */
public record MigrationOutcome(Optional<String> aborted, Duration total, Optional<Duration> downtime,
                               String summary) {
    public boolean completed() {
        return aborted.isEmpty();
    }
}
