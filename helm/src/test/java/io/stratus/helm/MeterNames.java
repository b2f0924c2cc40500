package io.stratus.helm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Prometheus series names the services can export, read from their Java sources: every meter
 * name given to a Micrometer builder ({@code Gauge.builder("stratus.host.instances", ...)}) or to a
 * local helper that hands it to one ({@code gauge("stratus.scheduler.hosts", ...)},
 * {@code counter(registry, cache, host, "stratus.agent.image.downloads", ...)}), with dots turned
 * into underscores and the suffixes Micrometer's Prometheus naming adds ({@code _total},
 * {@code _bytes}, {@code _seconds_*}).
 */
final class MeterNames {
    private static final Pattern METER_NAME = Pattern.compile(
            "\\b(?:builder|gauge|counter|timer|summary)\\(\\s*(?:[A-Za-z_][A-Za-z0-9_.]*\\s*,\\s*)*\"(stratus(?:\\.[a-z0-9_]+)+)\"");
    private static final List<String> SUFFIXES = List.of("", "_total", "_bytes", "_bytes_total", "_seconds",
            "_seconds_total", "_seconds_count", "_seconds_sum", "_seconds_max", "_seconds_bucket", "_count", "_sum",
            "_max", "_bucket");

    private MeterNames() {
    }

    /** The meter names (dotted, as in the code) under the given source roots. */
    static Set<String> meters(Path... sourceRoots) {
        Set<String> names = new TreeSet<>();
        for (Path root : sourceRoots) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = METER_NAME.matcher(Files.readString(f));
                    while (m.find()) {
                        names.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return names;
    }

    /** Every series name those meters can appear under in Prometheus. */
    static Set<String> series(Set<String> meters) {
        Set<String> series = new TreeSet<>();
        for (String meter : meters) {
            String base = meter.replace('.', '_');
            for (String suffix : SUFFIXES) {
                series.add(base + suffix);
            }
        }
        return series;
    }
}
