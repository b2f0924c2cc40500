package io.stratus.kvm.virtio.rng;

import java.util.function.LongSupplier;

/**
 * The allowance of an {@link EntropyRate}: it fills at the rate up to one period's bytes, and a
 * request takes what it gets. Kept exactly, in units of 1/period-nanoseconds of a byte (a
 * nanosecond earns {@code bytes} units, a byte costs {@code periodNanos}), so that no rounding
 * gives a guest more than its rate. Not thread-safe: one device thread uses it.
 */
final class TokenBucket {
    private final long bytes;
    private final long periodNanos;
    /** The most the bucket holds: one period's bytes. */
    private final long capacity;
    private final LongSupplier nanoClock;
    private long credit;
    private long filledAt;

    TokenBucket(EntropyRate rate, LongSupplier nanoClock) {
        this.bytes = rate.bytes();
        this.periodNanos = rate.period().toNanos();
        this.capacity = rate.units();
        this.nanoClock = nanoClock;
        this.credit = capacity;
        this.filledAt = nanoClock.getAsLong();
    }

    /**
     * Takes up to {@code wanted} bytes of allowance if at least {@code min(wanted, bytes)} are
     * there (so that a request larger than a period's bytes is served in whole periods, not in
     * slivers); returns what it took, or 0.
     */
    long take(long wanted) {
        refill();
        long needed = Math.min(wanted, bytes);
        if (credit < needed * periodNanos) {
            return 0;
        }
        long taken = Math.min(wanted, credit / periodNanos);
        credit -= taken * periodNanos;
        return taken;
    }

    /** Nanoseconds until {@link #take} of {@code wanted} bytes gets some. */
    long nanosUntil(long wanted) {
        refill();
        long missing = Math.min(wanted, bytes) * periodNanos - credit;
        return missing <= 0 ? 0 : (missing + bytes - 1) / bytes;
    }

    private void refill() {
        long now = nanoClock.getAsLong();
        // Beyond one period the bucket is full anyway; the bound keeps the product in range.
        long elapsed = Math.min(now - filledAt, periodNanos);
        credit = Math.min(capacity, credit + elapsed * bytes);
        filledAt = now;
    }
}
