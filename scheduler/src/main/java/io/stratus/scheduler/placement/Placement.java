package io.stratus.scheduler.placement;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Picks a host for a request and claims it: candidates in the caller's order of preference (the
 * weighers'), each claimed with a compare-and-swap; a host another scheduler changed meanwhile is
 * looked at again and, if the request no longer fits, passed over for the next.
 */
public final class Placement {
    /** Fresh looks at one host before moving on: a busy host may still fit after a lost race. */
    private static final int ATTEMPTS_PER_HOST = 3;

    private final PlacementStore store;

    public Placement(PlacementStore store) {
        this.store = store;
    }

    /**
     * Claims {@code request} for {@code consumer} on the first host in {@code preference} order
     * that takes it, and returns that host.
     *
     * @throws NoValidHostException no enabled host has room, or every one that had was taken
     */
    public String place(String consumer, ResourceRequest request, Comparator<ProviderUsage> preference) {
        return place(consumer, request, fitting -> fitting.stream().sorted(preference).toList());
    }

    /**
     * Like {@link #place(String, ResourceRequest, Comparator)}, with {@code selection} choosing
     * and ordering among the hosts where the request fits (filters and weighers).
     */
    public String place(String consumer, ResourceRequest request,
                        UnaryOperator<List<ProviderUsage>> selection) {
        return place(consumer, request, selection, store.candidates(request), null);
    }

    /**
     * Like {@link #place(String, ResourceRequest, UnaryOperator)}, choosing from a replica's
     * {@link PlacementView} instead of reading every host: only the claim touches the database.
     */
    public String place(String consumer, ResourceRequest request, UnaryOperator<List<ProviderUsage>> selection,
                        PlacementView view) {
        return place(consumer, request, selection, view.candidates(request), view);
    }

    private String place(String consumer, ResourceRequest request, UnaryOperator<List<ProviderUsage>> selection,
                         List<ProviderUsage> fitting, PlacementView cache) {
        List<ProviderUsage> candidates = selection.apply(fitting);
        if (candidates.isEmpty()) {
            throw new NoValidHostException("No valid host was found. No enabled host that passes the filters has "
                    + describe(request) + " free");
        }
        for (ProviderUsage candidate : candidates) {
            ProviderUsage view = candidate;
            for (int attempt = 0; attempt < ATTEMPTS_PER_HOST; attempt++) {
                if (store.claim(consumer, view, request)) {
                    if (cache != null) {
                        cache.claimed(view, request);
                    }
                    return view.name();
                }
                view = (cache != null ? cache.reread(view.name()) : store.usage(view.name())).orElse(null);
                if (view == null || view.disabled() || !view.fits(request)) {
                    break;
                }
            }
        }
        throw new NoValidHostException("No valid host was found. The " + candidates.size() + " host(s) with "
                + describe(request) + " free were taken by concurrent requests");
    }

    static String describe(ResourceRequest request) {
        return request.amounts().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
    }
}
