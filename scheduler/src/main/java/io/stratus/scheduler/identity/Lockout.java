package io.stratus.scheduler.identity;

import java.time.Duration;
import java.time.Instant;

/**
 * Keystone's {@code lockout_failure_attempts} and {@code lockout_duration}: after this many failed
 * logins in a row a user's password is refused, right or wrong, until {@code duration} has passed
 * since the last failure. Fewer than one attempt turns the lockout off.
 */
public record Lockout(int failureAttempts, Duration duration) {
    public static final Lockout NONE = new Lockout(0, Duration.ZERO);

    /** Whether a user with {@code failures} failed logins, the last at {@code lastFailure}, is locked at {@code now}. */
    public boolean locked(int failures, Instant lastFailure, Instant now) {
        return failureAttempts > 0 && failures >= failureAttempts && lastFailure != null
                && lastFailure.plus(duration).isAfter(now);
    }
}
