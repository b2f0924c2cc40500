package io.stratus.scheduler.placement;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One scheduler replica's picture of every host's usage, kept between requests, as Nova's
 * scheduler keeps its host states: choosing a host then costs no database read, and only the
 * claim (a compare-and-swap on the host's generation) goes to the database. The picture may be
 * stale; a stale host only costs a lost claim, after which that host is read again. The whole
 * picture is reread when it is older than {@code maxAge}.
 *
 * <p>Like Nova's placement ({@code max_placement_results}), a request sees at most
 * {@code maxCandidates} of the hosts where it fits, chosen at random: the cost of a decision stays
 * bounded with 10,000 hosts, and replicas racing for the same best host become rare.
 */
public final class PlacementView {
    private static final ResourceClass[] CLASSES = ResourceClass.values();

    /** A host as seen, with its free amounts per resource class worked out once. */
    private record Entry(ProviderUsage usage, long[] free) {
        static Entry of(ProviderUsage p) {
            long[] free = new long[CLASSES.length];
            for (ResourceClass rc : CLASSES) {
                free[rc.ordinal()] = p.free(rc);
            }
            return new Entry(p, free);
        }

        boolean fits(long[] wanted) {
            if (usage.disabled()) {
                return false;
            }
            for (int i = 0; i < wanted.length; i++) {
                if (free[i] < wanted[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Every host at a fixed index; an entry is replaced whole when the host changes.
     *
     * @param stale whether hosts were added, removed or changed since {@code loaded}
     */
    private record Snapshot(AtomicReferenceArray<Entry> entries, Map<String, Integer> index, Instant loaded,
                            boolean stale) {
    }

    /** A picture marked stale is reread, but not more often than this: a burst of changes costs one read. */
    private static final Duration MIN_AGE = Duration.ofSeconds(1);

    private final PlacementStore store;
    private final Clock clock;
    private final Duration maxAge;
    private final int maxCandidates;
    private volatile Snapshot snapshot = new Snapshot(new AtomicReferenceArray<>(0), Map.of(), Instant.MIN,
            true);

    public PlacementView(PlacementStore store, Clock clock, Duration maxAge, int maxCandidates) {
        this.store = store;
        this.clock = clock;
        this.maxAge = maxAge;
        this.maxCandidates = maxCandidates;
    }

    /** Enabled hosts where {@code request} fits, as last seen; a random subset when there are many. */
    public List<ProviderUsage> candidates(ResourceRequest request) {
        Snapshot s = current();
        long[] wanted = new long[CLASSES.length];
        request.amounts().forEach((rc, n) -> wanted[rc.ordinal()] = n);
        // From a random place onwards, round the ring, until the sample is full: a request reads
        // about maxCandidates hosts, not all of them, and replicas start in different places.
        List<ProviderUsage> fitting = new ArrayList<>();
        int n = s.entries().length();
        int start = n == 0 ? 0 : ThreadLocalRandom.current().nextInt(n);
        for (int k = 0; k < n && fitting.size() < maxCandidates; k++) {
            Entry e = s.entries().get((start + k) % n);
            if (e.fits(wanted)) {
                fitting.add(e.usage());
            }
        }
        return fitting;
    }

    /** Rereads one host (after a lost claim); empty if it is gone. */
    public Optional<ProviderUsage> reread(String host) {
        Optional<ProviderUsage> now = store.usage(host);
        if (now.isPresent()) {
            put(now.get());
        } else {
            invalidate();
        }
        return now;
    }

    /** Records this replica's own successful claim without a read. */
    void claimed(ProviderUsage seen, ResourceRequest request) {
        Map<ResourceClass, Long> used = new EnumMap<>(ResourceClass.class);
        used.putAll(seen.used());
        request.amounts().forEach((rc, n) -> used.merge(rc, n, Long::sum));
        put(new ProviderUsage(seen.name(), seen.generation() + 1, seen.disabled(), seen.inventory(), used));
    }

    private void put(ProviderUsage p) {
        Snapshot s = snapshot;
        Integer i = s.index().get(p.name());
        if (i == null) {
            // A host this picture does not know yet: the next request rereads them all.
            invalidate();
        } else {
            s.entries().set(i, Entry.of(p));
        }
    }

    /**
     * Marks the picture stale (a host was added, removed, enabled, disabled or resized): it is
     * reread at the next request a second or more after the last read.
     */
    public void invalidate() {
        Snapshot s = snapshot;
        snapshot = new Snapshot(s.entries(), s.index(), s.loaded(), true);
    }

    /**
     * Rereads every host now, whatever the picture's age: for requests rare enough to afford it
     * (moving a server) that must not miss a host an operator enabled a moment ago.
     */
    public void refresh() {
        synchronized (this) {
            snapshot = new Snapshot(snapshot.entries(), snapshot.index(), Instant.MIN, true);
        }
        current();
    }

    private boolean fresh(Snapshot s, Instant now) {
        return s.loaded().plus(s.stale() ? MIN_AGE : maxAge).isAfter(now);
    }

    private Snapshot current() {
        Snapshot s = snapshot;
        if (fresh(s, clock.instant())) {
            return s;
        }
        synchronized (this) {
            s = snapshot;
            if (fresh(s, clock.instant())) {
                return s;
            }
            List<ProviderUsage> all = store.all();
            AtomicReferenceArray<Entry> entries = new AtomicReferenceArray<>(all.size());
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < all.size(); i++) {
                entries.set(i, Entry.of(all.get(i)));
                index.put(all.get(i).name(), i);
            }
            snapshot = new Snapshot(entries, Map.copyOf(index), clock.instant(), false);
            return snapshot;
        }
    }
}
