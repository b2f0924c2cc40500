package io.stratus.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartLintTest {

    @Test
    void lintsStrictlyWithDefaultValues() {
        LintResult result = new Helm(RenderedChart.CHART).lint().strict().call();

        assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
        assertThat(result.isFailed()).as("%s", result.getMessages()).isFalse();
    }

    /** helm-java's lint takes no values: lint a copy of the chart whose defaults turn the bundled services on. */
    @Test
    void lintsStrictlyWithTheBundledServices(@TempDir Path dir) throws IOException {
        Path chart = copy(RenderedChart.CHART, dir.resolve("stratus"));
        Path values = chart.resolve("values.yaml");
        String defaults = Files.readString(values);
        // The bundled broker requires certificates: from cert-manager here, one per agent host.
        String bundled = defaults.replace("bundled:\n  enabled: false", "bundled:\n  enabled: true")
                .replace("certManager:\n  enabled: false", "certManager:\n  enabled: true")
                .replace("issuerRef:\n    name: \"\"", "issuerRef:\n    name: stratus-ca")
                .replace("  hosts: []", "  hosts: [node-1]");
        assertThat(bundled).isNotEqualTo(defaults);
        Files.writeString(values, bundled);

        LintResult result = new Helm(chart).lint().strict().call();

        assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
        assertThat(result.isFailed()).as("%s", result.getMessages()).isFalse();
    }

    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        return to;
    }
}
