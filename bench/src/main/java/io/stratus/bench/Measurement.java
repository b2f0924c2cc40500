package io.stratus.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One metric measured on each VMM.
 *
 * @param higherIsBetter true for rates and throughput, false for times and memory
 */
public record Measurement(String metric, String unit, boolean higherIsBetter, Map<String, Stats> byVmm) {
    public Measurement {
        byVmm = new LinkedHashMap<>(byVmm);
    }

    /** Median of {@code vmm} over median of {@code peer}, or NaN. */
    public double ratio(String vmm, String peer) {
        Stats a = byVmm.get(vmm);
        Stats b = byVmm.get(peer);
        return a == null || b == null || b.median() == 0 ? Double.NaN : a.median() / b.median();
    }
}
