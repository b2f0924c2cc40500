package io.stratus.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one benchmark found: the set-up, each metric per VMM, and the ratios of the medians it
 * compares (usually Stratus to its peer). Printed as a table for people or as one JSON object for
 * scripts.
 */
public record BenchReport(String benchmark, Map<String, String> setup, List<Measurement> measurements,
                          List<String> notes, List<Ratio> ratios) {
    public static final String STRATUS = "stratus";
    public static final String PEER = "qemu-microvm";

    /** The median of column {@code vmm} over that of column {@code peer}, for every metric. */
    public record Ratio(String vmm, String peer) {
        String label() {
            return shortName(vmm) + "/" + shortName(peer);
        }

        String jsonKey() {
            return "ratio_" + shortName(vmm) + "_to_" + shortName(peer);
        }
    }

    public BenchReport {
        setup = new LinkedHashMap<>(setup);
        measurements = List.copyOf(measurements);
        notes = List.copyOf(notes);
        ratios = List.copyOf(ratios);
    }

    /** A report of Stratus against {@code peer}. */
    public BenchReport(String benchmark, Map<String, String> setup, List<Measurement> measurements,
                       List<String> notes, String peer) {
        this(benchmark, setup, measurements, notes, List.of(new Ratio(STRATUS, peer)));
    }

    /** A report against QEMU, the peer of the VMM benchmarks. */
    public BenchReport(String benchmark, Map<String, String> setup, List<Measurement> measurements,
                       List<String> notes) {
        this(benchmark, setup, measurements, notes, PEER);
    }

    private static String shortName(String vmm) {
        return vmm.equals(PEER) ? "qemu" : vmm;
    }

    /** A fixed-width table: metric, each VMM's median [min-max], and the ratios (Stratus/QEMU). */
    public String table() {
        List<String> vmms = new ArrayList<>();
        for (Measurement m : measurements) {
            for (String v : m.byVmm().keySet()) {
                if (!vmms.contains(v)) {
                    vmms.add(v);
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("benchmark: ").append(benchmark).append('\n');
        setup.forEach((k, v) -> out.append("  ").append(k).append(": ").append(v).append('\n'));
        List<String[]> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("metric", "unit"));
        vmms.forEach(v -> header.add(v + " median [min-max]"));
        ratios.forEach(r -> header.add(r.label()));
        rows.add(header.toArray(new String[0]));
        for (Measurement m : measurements) {
            List<String> row = new ArrayList<>(List.of(m.metric(), m.unit()));
            for (String v : vmms) {
                Stats s = m.byVmm().get(v);
                row.add(s == null ? "-" : String.format(Locale.ROOT, "%s [%s-%s]", fmt(s.median()), fmt(s.min()),
                        fmt(s.max())));
            }
            for (Ratio ratio : ratios) {
                double r = m.ratio(ratio.vmm(), ratio.peer());
                row.add(Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2f (%s better)", r,
                        m.higherIsBetter() ? "higher" : "lower"));
            }
            rows.add(row.toArray(new String[0]));
        }
        int[] widths = new int[header.size()];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                out.append(i == 0 ? "" : "  ").append(String.format("%-" + widths[i] + "s", row[i]));
            }
            out.append('\n');
        }
        notes.forEach(n -> out.append("note: ").append(n).append('\n'));
        return out.toString();
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (Math.abs(v) >= 1000) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : "%.3f", v);
    }

    /** One JSON object. */
    public String json() {
        StringBuilder b = new StringBuilder("{\"benchmark\":").append(Json.string(benchmark)).append(",\"setup\":{");
        int i = 0;
        for (Map.Entry<String, String> e : setup.entrySet()) {
            b.append(i++ == 0 ? "" : ",").append(Json.string(e.getKey())).append(':').append(Json.string(e.getValue()));
        }
        b.append("},\"results\":[");
        for (int m = 0; m < measurements.size(); m++) {
            Measurement x = measurements.get(m);
            b.append(m == 0 ? "" : ",").append("{\"metric\":").append(Json.string(x.metric())).append(",\"unit\":")
                    .append(Json.string(x.unit())).append(",\"higher_is_better\":").append(x.higherIsBetter());
            for (Map.Entry<String, Stats> e : x.byVmm().entrySet()) {
                b.append(',').append(Json.string(e.getKey())).append(':').append(e.getValue().json());
            }
            for (Ratio r : ratios) {
                b.append(',').append(Json.string(r.jsonKey())).append(':').append(Json.number(x.ratio(r.vmm(), r.peer())));
            }
            b.append('}');
        }
        b.append("],\"notes\":[");
        for (int n = 0; n < notes.size(); n++) {
            b.append(n == 0 ? "" : ",").append(Json.string(notes.get(n)));
        }
        return b.append("]}").toString();
    }
}
