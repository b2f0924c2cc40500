package io.stratus.agent.migration;

import io.grpc.Status;
import java.time.Duration;
import java.util.Optional;

/**
 * How long the source keeps offering its Hello to a target that has not accepted it yet. The
 * target answers NOT_FOUND while it prepares (fetches images, builds the guest) and cannot be
 * reached (UNAVAILABLE) while its agent is not up: both are worth waiting for, up to the target
 * wait. But a target that answered once and then cannot be reached has lost its agent, and with
 * it the migration it was preparing (that lives in the agent's memory): after a short grace for a
 * dropped connection, the source gives up at once rather than for the rest of the target wait.
 */
final class TargetWait {
    /** Enough for gRPC to reconnect a dropped connection a few times (its backoff starts at 1 s). */
    static final Duration LOST_GRACE = Duration.ofSeconds(10);

    private final long deadline;
    private final Duration wait;
    private final long lostGrace;
    private boolean answered;
    private long lostSince;
    private boolean lost;

    TargetWait(long now, Duration wait, Duration lostGrace) {
        this.deadline = now + wait.toNanos();
        this.wait = wait;
        this.lostGrace = lostGrace.toNanos();
    }

    /** The time left to wait for an answer to the next Hello, in nanoseconds (at least 1 ms). */
    long left(long now) {
        return Math.max(1_000_000, deadline - now);
    }

    /**
     * After a Hello ended with {@code code} at {@code now} (nanoTime): why the source gives up, or
     * empty to offer the Hello again.
     */
    Optional<String> after(Status.Code code, long now) {
        if (code == Status.Code.NOT_FOUND) {
            answered = true;
            lost = false;
        } else if (code == Status.Code.UNAVAILABLE) {
            if (answered && !lost) {
                lost = true;
                lostSince = now;
            }
            if (lost && now - lostSince > lostGrace) {
                return Optional.of("it answered, then could not be reached for " + lostGrace / 1_000_000_000
                        + " s: its agent stopped, and the migration it was preparing went with it");
            }
        } else {
            return Optional.of("it answered " + code);
        }
        if (now - deadline > 0) {
            return Optional.of("it was not ready within " + wait.toSeconds() + " s");
        }
        return Optional.empty();
    }
}
