package io.stratus.kvm.virtio.rng;

import java.time.Duration;

/**
 * How fast one guest may draw from the host's random source through its entropy device: at most
 * {@code bytes} per {@code period} on average, and {@code bytes} at once after a quiet spell.
 * Without a limit, a guest that reads its hardware RNG without pause keeps the device's host
 * thread busy generating random bytes, a cost its vCPU share does not count (QEMU's
 * {@code max-bytes}/{@code period}, Firecracker's entropy rate limiter).
 *
 * @param bytes  the bytes allowed per period, and the largest burst; at least 1
 * @param period the period; positive
 */
public record EntropyRate(long bytes, Duration period) {
    public EntropyRate {
        if (bytes < 1) {
            throw new IllegalArgumentException("an entropy rate allows at least 1 byte per period, not " + bytes);
        }
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("an entropy rate's period must be positive, not " + period);
        }
        try {
            Math.multiplyExact(bytes, period.toNanos());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("an entropy rate of " + bytes + " bytes per " + period
                    + " is beyond what is counted exactly; set no limit instead", e);
        }
    }

    /** One period's bytes times the period in nanoseconds: the allowance's exact scale. */
    long units() {
        return bytes * period.toNanos();
    }

    /** {@code bytes} per second. */
    public static EntropyRate perSecond(long bytes) {
        return new EntropyRate(bytes, Duration.ofSeconds(1));
    }

    @Override
    public String toString() {
        return bytes + " bytes per " + period;
    }
}
