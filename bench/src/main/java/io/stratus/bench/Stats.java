package io.stratus.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Minimum, median and maximum of a few measurements. */
public record Stats(double min, double median, double max, int count) {

    public static Stats of(List<Double> values) {
        if (values.isEmpty()) {
            return new Stats(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return new Stats(sorted.get(0), median, sorted.get(n - 1), n);
    }

    /** {@code {"min":..,"median":..,"max":..}}. */
    public String json() {
        return "{\"min\":" + Json.number(min) + ",\"median\":" + Json.number(median) + ",\"max\":" + Json.number(max)
                + ",\"runs\":" + count + "}";
    }
}
