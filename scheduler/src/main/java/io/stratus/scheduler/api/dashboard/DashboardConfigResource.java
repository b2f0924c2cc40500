package io.stratus.scheduler.api.dashboard;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.HashMap;
import java.util.Map;

/**
 * The dashboard's settings beside its files ({@code /dashboard/config.json}): where a Prometheus
 * is, if one is. Any token may read it (the dashboard asks after its login); what the charts then
 * show is Prometheus's or the Compute API's to allow.
 */
@Path("/dashboard/config.json")
@Produces(MediaType.APPLICATION_JSON)
public class DashboardConfigResource {
    @Inject
    DashboardConfig config;

    @GET
    public Map<String, Object> config() {
        Map<String, Object> out = new HashMap<>();
        out.put("prometheus_url", config.prometheusUrl().map(u -> u.replaceAll("/+$", "")).orElse(null));
        return out;
    }
}
