package io.stratus.agent.migration;

import io.grpc.Status;
import java.time.Duration;
import java.util.Optional;

/**
 * How long the source keeps offering its Hello to a target that has not accepted it yet. The
 * target answers NOT_FOUND while it prepares (fetches images, builds the guest): worth waiting
 * for, up to the target wait. A target that cannot be reached (UNAVAILABLE) has no agent
 * listening: the target host is up (it was chosen as one), so its agent stopped, and the
 * migration it was preparing, which lives in the agent's memory, went with it; an agent that
 * comes back would answer NOT_FOUND for ever. So after a short grace for a connection being made
 * or made again, the source gives up rather than for the rest of the target wait.
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
            if (!lost) {
                lost = true;
                lostSince = now;
            }
            if (now - lostSince > lostGrace) {
                return Optional.of((answered ? "it answered, then" : "it") + " could not be reached for "
                        + lostGrace / 1_000_000_000 + " s: its agent stopped, and the migration it was preparing"
                        + " went with it");
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
