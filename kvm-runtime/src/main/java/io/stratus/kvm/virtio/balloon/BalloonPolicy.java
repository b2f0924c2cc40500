package io.stratus.kvm.virtio.balloon;

import io.stratus.kvm.memory.PageFootprint;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Chooses balloon targets across the guests of one host so that the host gets back a given
 * amount of real memory, taking it where inflating frees the most first. A guest page given to
 * the balloon frees host memory only if it was resident and private: a page KSM merged with
 * other guests' pages (or the zero page) stays in use by the others, and a page never touched
 * was never host memory. So each guest's expected yield per ballooned byte is the private share
 * of its unballooned memory, and guests are asked in order of that yield, each no further than
 * its available memory minus a reserve.
 */
public final class BalloonPolicy {
    private static final long MIB = 1L << 20;

    private final long reserveBytes;
    private final double reserveFraction;
    private final double minimumYield;

    /**
     * One guest as the policy sees it.
     *
     * @param memoryBytes the guest's RAM
     * @param balloonBytes what its balloon holds now
     * @param availableBytes the guest's MemAvailable from its balloon statistics (0 when it has
     *                       not reported any: such a guest is not asked to give memory)
     * @param footprint where its RAM is in host memory
     */
    public record Guest(String name, long memoryBytes, long balloonBytes, long availableBytes,
                        PageFootprint footprint) {
        public Guest {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(footprint, "footprint");
            if (memoryBytes <= 0 || balloonBytes < 0 || balloonBytes > memoryBytes || availableBytes < 0) {
                throw new IllegalArgumentException(name + ": inconsistent guest memory figures");
            }
        }

        /** Host bytes freed per byte ballooned, expected. */
        double yield() {
            long unballooned = memoryBytes - balloonBytes;
            return unballooned == 0 ? 0 : Math.min(1.0, (double) footprint.privateBytes() / unballooned);
        }
    }

    /** A guest's new balloon target and what the host is expected to get back from it. */
    public record Target(String name, long balloonBytes, long inflateBytes, long expectedHostBytes) {
    }

    /**
     * Targets for every guest, in the order given, and what is left unmet.
     *
     * @param shortfallBytes host memory the guests could not give without going below their reserve
     */
    public record Plan(List<Target> targets, long expectedHostBytes, long shortfallBytes) {
        public Plan {
            targets = List.copyOf(targets);
        }
    }

    /**
     * @param reserveBytes available memory every guest keeps at least
     * @param reserveFraction share of its memory every guest keeps available, if more than {@code reserveBytes}
     * @param minimumYield guests whose expected yield is lower are not asked (their memory is mostly shared)
     */
    public BalloonPolicy(long reserveBytes, double reserveFraction, double minimumYield) {
        if (reserveBytes < 0 || reserveFraction < 0 || reserveFraction >= 1 || minimumYield < 0 || minimumYield > 1) {
            throw new IllegalArgumentException("balloon policy needs reserve >= 0, 0 <= fraction < 1, 0 <= yield <= 1");
        }
        this.reserveBytes = reserveBytes;
        this.reserveFraction = reserveFraction;
        this.minimumYield = minimumYield;
    }

    /** Each guest keeps 64 MiB or a tenth of its memory available; guests under 5 % yield are left alone. */
    public static BalloonPolicy defaults() {
        return new BalloonPolicy(64 * MIB, 0.10, 0.05);
    }

    /** Balloon targets that give the host back {@code hostBytes} of real memory, as far as the guests can. */
    public Plan reclaim(long hostBytes, List<Guest> guests) {
        long wanted = Math.max(0, hostBytes);
        long[] inflate = new long[guests.size()];
        long[] expected = new long[guests.size()];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < guests.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble((Integer i) -> guests.get(i).yield()).reversed());
        for (int i : order) {
            Guest g = guests.get(i);
            double yield = g.yield();
            if (wanted <= 0 || yield < minimumYield || yield == 0) {
                continue;
            }
            long reserve = Math.max(reserveBytes, (long) (reserveFraction * g.memoryBytes()));
            long headroom = Math.max(0, g.availableBytes() - reserve) & -MIB;
            long needed = roundUpToMib((long) Math.min(g.memoryBytes(), Math.ceil(wanted / yield)));
            long take = Math.min(headroom, needed);
            long gain = Math.min(g.footprint().privateBytes(), (long) (take * yield));
            inflate[i] = take;
            expected[i] = gain;
            wanted -= gain;
        }
        List<Target> targets = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < guests.size(); i++) {
            Guest g = guests.get(i);
            targets.add(new Target(g.name(), g.balloonBytes() + inflate[i], inflate[i], expected[i]));
            total += expected[i];
        }
        return new Plan(targets, total, Math.max(0, wanted));
    }

    private static long roundUpToMib(long bytes) {
        return (bytes + MIB - 1) & -MIB;
    }
}
