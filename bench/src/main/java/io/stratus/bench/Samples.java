package io.stratus.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Collects values per metric and VMM while a benchmark runs. */
final class Samples {
    private final Map<String, Map<String, List<Double>>> values = new LinkedHashMap<>();

    void add(String metric, String vmm, double value) {
        if (!Double.isNaN(value)) {
            values.computeIfAbsent(metric, k -> new LinkedHashMap<>()).computeIfAbsent(vmm, k -> new ArrayList<>())
                    .add(value);
        }
    }

    Measurement measurement(String metric, String unit, boolean higherIsBetter) {
        Map<String, Stats> stats = new LinkedHashMap<>();
        values.getOrDefault(metric, Map.of()).forEach((vmm, list) -> stats.put(vmm, Stats.of(list)));
        return new Measurement(metric, unit, higherIsBetter, stats);
    }
}
