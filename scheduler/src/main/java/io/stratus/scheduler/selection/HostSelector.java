package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ProviderUsage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/** Filters, then weighs: the hosts a request may go to, best first. */
public final class HostSelector {
    private final List<HostFilter> filters;
    private final List<Weigher> weighers;

    public HostSelector(List<HostFilter> filters, List<Weigher> weighers) {
        this.filters = List.copyOf(filters);
        this.weighers = List.copyOf(weighers);
    }

    /**
     * The hosts that pass every filter, ordered by their weighed score (ties by name, so that
     * replicas agree and tests are repeatable).
     */
    public List<HostState> select(List<HostState> hosts, RequestSpec request) {
        List<HostState> passed = new ArrayList<>();
        for (HostState h : hosts) {
            if (filters.stream().allMatch(f -> f.passes(h, request))) {
                passed.add(h);
            }
        }
        Map<String, Double> score = new HashMap<>();
        for (HostState h : passed) {
            score.put(h.name(), 0.0);
        }
        for (Weigher w : weighers) {
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            Map<String, Double> raw = new HashMap<>();
            for (HostState h : passed) {
                double v = w.weigh(h, request);
                raw.put(h.name(), v);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            double span = max - min;
            for (HostState h : passed) {
                double normalised = span == 0 ? 0 : (raw.get(h.name()) - min) / span;
                score.merge(h.name(), w.multiplier() * normalised, Double::sum);
            }
        }
        passed.sort(Comparator.comparingDouble((HostState h) -> -score.get(h.name())).thenComparing(HostState::name));
        return passed;
    }

    /**
     * The selection step for {@link io.stratus.scheduler.placement.Placement#place}: placement's
     * fitting hosts, seen with what else the scheduler knows of them ({@code state}), filtered
     * and ordered. Hosts the scheduler knows nothing else of are left out.
     */
    public UnaryOperator<List<ProviderUsage>> forPlacement(RequestSpec request,
                                                          Function<ProviderUsage, HostState> state) {
        return fitting -> {
            List<HostState> hosts = new ArrayList<>();
            for (ProviderUsage p : fitting) {
                HostState h = state.apply(p);
                if (h != null) {
                    hosts.add(h);
                }
            }
            return select(hosts, request).stream().map(HostState::usage).toList();
        };
    }
}
