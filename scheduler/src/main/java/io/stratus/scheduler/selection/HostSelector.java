package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ProviderUsage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
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
        return decide(hosts, request).chosen();
    }

    /**
     * One request's decision, for its log: the hosts chosen, best first, and the hosts each
     * filter removed (in filter order; a host is counted against the first filter it failed).
     */
    public record Decision(List<HostState> chosen, Map<String, List<String>> removedBy) {
        public Decision {
            chosen = List.copyOf(chosen);
            removedBy = Collections.unmodifiableMap(new LinkedHashMap<>(removedBy));
        }

        /** "resources removed 3 (h1, h2, h3); alive removed 1 (h9)", for logs and faults. */
        public String summary() {
            StringBuilder b = new StringBuilder();
            removedBy.forEach((filter, removed) -> {
                if (!removed.isEmpty()) {
                    b.append(b.length() == 0 ? "" : "; ").append(filter).append(" removed ").append(removed.size())
                            .append(" (").append(String.join(", ", removed.subList(0, Math.min(5, removed.size()))))
                            .append(removed.size() > 5 ? ", ..." : "").append(")");
                }
            });
            return b.length() == 0 ? "no host was filtered out" : b.toString();
        }
    }

    /** Like {@link #select}, keeping which filter removed which host. */
    public Decision decide(List<HostState> hosts, RequestSpec request) {
        Map<String, List<String>> removedBy = new LinkedHashMap<>();
        for (HostFilter f : filters) {
            removedBy.put(f.name(), new ArrayList<>());
        }
        List<HostState> passed = new ArrayList<>(hosts.size());
        for (HostState h : hosts) {
            HostFilter failed = null;
            for (HostFilter f : filters) {
                if (!f.passes(h, request)) {
                    failed = f;
                    break;
                }
            }
            if (failed == null) {
                passed.add(h);
            } else {
                removedBy.get(failed.name()).add(h.name());
            }
        }
        // Each weigher's values are normalised to [0, 1] over the passing hosts, then multiplied.
        int n = passed.size();
        double[] score = new double[n];
        double[] raw = new double[n];
        for (Weigher w : weighers) {
            if (w.multiplier() == 0) {
                continue;
            }
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                raw[i] = w.weigh(passed.get(i), request);
                min = Math.min(min, raw[i]);
                max = Math.max(max, raw[i]);
            }
            double span = max - min;
            for (int i = 0; i < n; i++) {
                score[i] += w.multiplier() * (span == 0 ? 0 : (raw[i] - min) / span);
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -score[i])
                .thenComparing(i -> passed.get(i).name()));
        List<HostState> chosen = new ArrayList<>(n);
        for (Integer i : order) {
            chosen.add(passed.get(i));
        }
        return new Decision(chosen, removedBy);
    }

    /**
     * The selection step for {@link io.stratus.scheduler.placement.Placement#place}: placement's
     * fitting hosts, seen with what else the scheduler knows of them ({@code state}), filtered
     * and ordered. Hosts the scheduler knows nothing else of are left out.
     */
    public UnaryOperator<List<ProviderUsage>> forPlacement(RequestSpec request,
                                                          Function<ProviderUsage, HostState> state) {
        return forPlacement(request, state, d -> { });
    }

    /** Like {@link #forPlacement(RequestSpec, Function)}, handing the decision to {@code log}. */
    public UnaryOperator<List<ProviderUsage>> forPlacement(RequestSpec request, Function<ProviderUsage, HostState> state,
                                                          Consumer<Decision> log) {
        return fitting -> {
            List<HostState> hosts = new ArrayList<>();
            for (ProviderUsage p : fitting) {
                HostState h = state.apply(p);
                if (h != null) {
                    hosts.add(h);
                }
            }
            Decision d = decide(hosts, request);
            log.accept(d);
            return d.chosen().stream().map(HostState::usage).toList();
        };
    }
}
