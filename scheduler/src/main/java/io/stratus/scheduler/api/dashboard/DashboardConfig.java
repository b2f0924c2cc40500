package io.stratus.scheduler.api.dashboard;

import io.smallrye.config.ConfigMapping;
import java.util.Optional;

/** What the web dashboard learns from the control plane ({@code stratus.dashboard.*}). */
@ConfigMapping(prefix = "stratus.dashboard")
public interface DashboardConfig {
    /**
     * A Prometheus that scrapes the agents ({@code http://prometheus:9090}): the operators' charts
     * ask its HTTP API from the browser (Prometheus allows any origin by default). Without it the
     * charts draw the control plane's own figures.
     */
    Optional<String> prometheusUrl();
}
