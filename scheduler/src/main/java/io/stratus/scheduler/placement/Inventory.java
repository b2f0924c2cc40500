package io.stratus.scheduler.placement;

/**
 * What a host offers of one resource class.
 *
 * @param total what the host has
 * @param reserved what the host keeps for itself
 * @param allocationRatio how far allocations may exceed what is there (CPU over-commit, say)
 */
public record Inventory(long total, long reserved, double allocationRatio) {
    public Inventory {
        if (total < 0 || reserved < 0) {
            throw new IllegalArgumentException("inventory total and reserved must not be negative: " + total + ", "
                    + reserved);
        }
        if (!(allocationRatio > 0) || Double.isInfinite(allocationRatio)) {
            throw new IllegalArgumentException("allocation ratio must be a positive number, not " + allocationRatio);
        }
    }

    /** What allocations may add up to: (total - reserved) × ratio, never negative. */
    public long capacity() {
        return (long) Math.floor(Math.max(0, total - reserved) * allocationRatio);
    }
}
