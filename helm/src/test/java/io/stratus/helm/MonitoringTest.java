package io.stratus.helm;

import static io.stratus.helm.RenderedChart.name;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

@SuppressWarnings("unchecked")
class MonitoringTest {
    private static final Pattern DASHBOARD_EXPR = Pattern.compile("\"expr\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static RenderedChart chart;
    private static Set<String> series;

    @BeforeAll
    static void render() {
        chart = RenderedChart.render();
        series = MeterNames.series(MeterNames.meters(Path.of("../scheduler/src/main/java"),
                Path.of("../agent/src/main/java")));
    }

    @Test
    void readsTheMeterNamesOfTheSchedulerAndTheAgent() {
        assertThat(series).contains("stratus_scheduler_hosts", "stratus_scheduler_placements_total",
                "stratus_scheduler_reschedules_total", "stratus_instance_cpu_seconds_total",
                "stratus_host_memory_capacity_bytes", "stratus_agent_image_cache_hits_total");
        assertThat(series).doesNotContain("stratus_scheduler_boots_failed_total");
    }

    @Test
    void alertsNameTheirConditions() {
        assertThat(alerts().keySet()).containsExactlyInAnyOrder("StratusHostDown", "StratusBootFailures",
                "StratusCapacityLow");
        assertThat(alerts().get("StratusCapacityLow")).contains("< 4 ", "< 4294967296");
    }

    @Test
    void alertsReadOnlySeriesTheServicesExport() {
        Set<String> used = new TreeSet<>();
        alerts().values().forEach(expr -> used.addAll(PromQL.seriesNames(expr)));

        assertThat(used).contains("stratus_scheduler_hosts", "stratus_scheduler_reschedules_total",
                "stratus_host_vcpus_capacity");
        assertThat(used).isSubsetOf(series);
    }

    @Test
    void dashboardReadsOnlySeriesTheServicesExport() {
        ConfigMap dashboard = chart.one(ConfigMap.class, name("dashboard"));
        String json = dashboard.getData().get("stratus.json");
        Set<String> used = new TreeSet<>();
        Matcher m = DASHBOARD_EXPR.matcher(json);
        while (m.find()) {
            used.addAll(PromQL.seriesNames(m.group(1).replace("\\\"", "\"")));
        }

        assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(used).contains("stratus_scheduler_hosts", "stratus_scheduler_placements_total",
                "stratus_instance_cpu_seconds_total", "stratus_agent_image_cache_hits_total",
                "stratus_agent_image_downloads_total");
        assertThat(used).isSubsetOf(series);
    }

    @Test
    void monitorsScrapeMetricsOfTheServicesAndTheAgents() {
        GenericKubernetesResource services = chart.custom("ServiceMonitor", "cloud-stratus");
        GenericKubernetesResource agents = chart.custom("PodMonitor", name("agent"));

        assertThat(services.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat((List<?>) services.get("spec", "endpoints")).singleElement()
                .satisfies(e -> assertThat((Map<Object, Object>) e).containsEntry("path", "/metrics").containsEntry("port", "http"));
        assertThat((List<?>) services.get("spec", "selector", "matchExpressions")).singleElement()
                .satisfies(e -> assertThat((Map<Object, Object>) e).containsEntry("values", List.of("scheduler", "image-service")));
        assertThat((Map<Object, Object>) agents.get("spec", "selector", "matchLabels"))
                .containsEntry("app.kubernetes.io/component", "agent");
        assertThat((List<?>) agents.get("spec", "podMetricsEndpoints")).singleElement()
                .satisfies(e -> assertThat((Map<Object, Object>) e).containsEntry("path", "/metrics"));
    }

    @Test
    void monitoringOffRendersNoOperatorKinds() {
        RenderedChart off = RenderedChart.render("monitoring.enabled", false);

        assertThat(off.custom("ServiceMonitor")).isEmpty();
        assertThat(off.custom("PodMonitor")).isEmpty();
        assertThat(off.custom("PrometheusRule")).isEmpty();
    }

    @Test
    void promqlParsingFindsSeriesNotFunctionsOrLabels() {
        assertThat(PromQL.seriesNames("sum by (host) (rate(a_total{result=\"no_valid_host\"}[5m])) / on(host) b > 1e3"))
                .containsExactly("a_total", "b");
    }

    private static Map<String, String> alerts() {
        GenericKubernetesResource rule = chart.custom("PrometheusRule", "cloud-stratus");
        Map<String, String> alerts = new java.util.LinkedHashMap<>();
        List<?> groups = rule.get("spec", "groups");
        for (Object g : groups) {
            for (Object r : new ArrayList<>((List<?>) ((Map<?, ?>) g).get("rules"))) {
                Map<?, ?> rr = (Map<?, ?>) r;
                alerts.put((String) rr.get("alert"), String.valueOf(rr.get("expr")));
            }
        }
        return alerts;
    }
}
