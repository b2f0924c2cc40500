package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.TokenFilter;
import io.stratus.proto.v1.HostReport;
import io.stratus.scheduler.compute.HostNotes;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.hosts.ServiceStatus;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.selection.Hypervisor;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * The operators' view of hosts: {@code os-hypervisors} (capacity and use per host, the driver each
 * host's agent reports) and {@code os-services} (up/down from host reports, enable/disable with a
 * reason). A host is shown disabled when its operator disabled it or its agent reports that no
 * guest can run there ({@link ServiceStatus}). Admin only. Hosts are numbered by name for the
 * integer ids API 2.1 uses.
 */
@Path("/compute/v2.1")
@Produces(MediaType.APPLICATION_JSON)
public class HostsResource {
    private static final String BINARY = "nova-compute";
    /** What os-hypervisors showed as every host's version before hosts reported their driver's. */
    private static final long UNKNOWN_VERSION = 1;

    @Inject
    PlacementStore placement;
    @Inject
    HostDirectory hosts;
    @Inject
    HostNotes notes;
    @Inject
    ServerStore servers;
    @Inject
    Conductor conductor;
    @Context
    ContainerRequestContext request;

    @GET
    @Path("/os-hypervisors")
    public Map<String, Object> hypervisors() {
        TokenFilter.admin(request, "os_compute_api:os-hypervisors:list");
        return Map.of("hypervisors", numbered(placement.all(), this::hypervisorSummary));
    }

    @GET
    @Path("/os-hypervisors/detail")
    public Map<String, Object> hypervisorDetails() {
        TokenFilter.admin(request, "os_compute_api:os-hypervisors:detail");
        Map<String, Long> running = runningByHost();
        return Map.of("hypervisors", numbered(placement.all(), (id, p) -> hypervisor(id, p, running)));
    }

    @GET
    @Path("/os-hypervisors/{id}")
    public Map<String, Object> hypervisor(@PathParam("id") String id) {
        TokenFilter.admin(request, "os_compute_api:os-hypervisors:show");
        return Map.of("hypervisor", find(id, (n, p) -> hypervisor(n, p, runningByHost())));
    }

    /** Nova answers with the host's uptime(1) line; Stratus tells when the host last reported. */
    @GET
    @Path("/os-hypervisors/{id}/uptime")
    public Map<String, Object> uptime(@PathParam("id") String id) {
        TokenFilter.admin(request, "os_compute_api:os-hypervisors:uptime");
        return Map.of("hypervisor", find(id, (n, p) -> {
            Map<String, Object> m = hypervisorSummary(n, p);
            m.put("uptime", hosts.lastReport(p.name()).map(t -> "last report " + Views.time(t))
                    .orElse("never reported"));
            return m;
        }));
    }

    /** Each host's view under its 2.1 id: its place in name order, from 1. */
    private static List<Map<String, Object>> numbered(List<ProviderUsage> all,
                                                      BiFunction<Integer, ProviderUsage, Map<String, Object>> view) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            out.add(view.apply(i + 1, all.get(i)));
        }
        return out;
    }

    /** The view of the host {@code id} names, by number or by name; 404 if none. */
    private Map<String, Object> find(String id, BiFunction<Integer, ProviderUsage, Map<String, Object>> view) {
        List<ProviderUsage> all = placement.all();
        for (int i = 0; i < all.size(); i++) {
            if (Integer.toString(i + 1).equals(id) || all.get(i).name().equals(id)) {
                return view.apply(i + 1, all.get(i));
            }
        }
        throw ApiException.notFound("Hypervisor with ID " + id + " could not be found.");
    }

    /** Servers per host, from one query rather than one per host. */
    private Map<String, Long> runningByHost() {
        Map<String, Long> running = new HashMap<>();
        for (ServerStore.Placed p : servers.placed()) {
            running.merge(p.host(), 1L, Long::sum);
        }
        return running;
    }

    private Map<String, Object> hypervisorSummary(int id, ProviderUsage p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("hypervisor_hostname", p.name());
        m.put("state", conductor.hostUp(p.name()) ? "up" : "down");
        m.put("status", status(p).status());
        return m;
    }

    private ServiceStatus status(ProviderUsage p) {
        return hosts.service(p, notes.reason(p.name()));
    }

    private Map<String, Object> hypervisor(int id, ProviderUsage p, Map<String, Long> running) {
        Map<String, Object> m = hypervisorSummary(id, p);
        Optional<HostReport> report = hosts.report(p.name());
        Hypervisor driver = hosts.hypervisor(p.name()).orElse(Hypervisor.UNKNOWN);
        m.put("hypervisor_type", driver.type());
        m.put("hypervisor_version", driver.versionNumber().orElse(UNKNOWN_VERSION));
        m.put("host_ip", report.map(HostReport::getGrpcAddress).map(a -> a.replaceAll(":\\d+$", "")).orElse(""));
        m.put("vcpus", total(p, ResourceClass.VCPU));
        m.put("vcpus_used", used(p, ResourceClass.VCPU));
        m.put("memory_mb", total(p, ResourceClass.MEMORY_MB));
        m.put("memory_mb_used", used(p, ResourceClass.MEMORY_MB));
        m.put("free_ram_mb", total(p, ResourceClass.MEMORY_MB) - used(p, ResourceClass.MEMORY_MB));
        m.put("local_gb", total(p, ResourceClass.DISK_GB));
        m.put("local_gb_used", used(p, ResourceClass.DISK_GB));
        m.put("free_disk_gb", total(p, ResourceClass.DISK_GB) - used(p, ResourceClass.DISK_GB));
        m.put("disk_available_least", total(p, ResourceClass.DISK_GB) - used(p, ResourceClass.DISK_GB));
        m.put("current_workload", 0);
        m.put("running_vms", running.getOrDefault(p.name(), 0L));
        // Before microversion 2.28 Nova gives the CPU as a JSON string; clients parse it (openstack
        // hypervisor show fails without it). Every Stratus host is x86-64; the model is not reported.
        m.put("cpu_info", "{\"arch\": \"x86_64\"}");
        m.put("ksm_saved_bytes", report.map(HostReport::getKsmSavedBytes).orElse(0L));
        // Stratus's own: the running guests' balloons, summed (memory they hold for the host, what
        // the guests say is available, how many balloons hold memory), as the host last reported.
        m.put("balloon_held_bytes", report.map(HostReport::getBalloonHeldBytes).orElse(0L));
        m.put("guest_available_bytes", report.map(HostReport::getGuestAvailableBytes).orElse(0L));
        m.put("ballooned_guests", report.map(HostReport::getBalloonedGuests).orElse(0));
        m.put("service", Map.of("host", p.name(), "id", id, "disabled_reason", status(p).reason().orElse("")));
        return m;
    }

    private static long total(ProviderUsage p, ResourceClass rc) {
        return p.inventory().containsKey(rc) ? p.inventory().get(rc).total() : 0;
    }

    private static long used(ProviderUsage p, ResourceClass rc) {
        return p.used().getOrDefault(rc, 0L);
    }

    @GET
    @Path("/os-services")
    public Map<String, Object> services() {
        TokenFilter.admin(request, "os_compute_api:os-services:list");
        return Map.of("services", numbered(placement.all(), this::service));
    }

    private Map<String, Object> service(int id, ProviderUsage p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("binary", BINARY);
        m.put("host", p.name());
        m.put("zone", Conductor.DEFAULT_ZONE);
        ServiceStatus status = status(p);
        m.put("status", status.status());
        m.put("state", conductor.hostUp(p.name()) ? "up" : "down");
        m.put("updated_at", hosts.lastReport(p.name()).map(Views::time).orElse(null));
        m.put("disabled_reason", status.reason().orElse(null));
        return m;
    }

    @PUT
    @Path("/os-services/{action}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> switchHost(@PathParam("action") String action, JsonNode body) {
        TokenFilter.admin(request, "os_compute_api:os-services:update");
        String host = Json.string(body, "host", 255);
        String binary = Json.optionalString(body, "binary", 64).orElse(BINARY);
        if (!binary.equals(BINARY)) {
            throw ApiException.badRequest("only the " + BINARY + " service can be switched, not " + binary);
        }
        if (placement.usage(host).isEmpty()) {
            throw ApiException.notFound("Host '" + host + "' is not mapped to any cell");
        }
        switch (action) {
            case "enable":
                placement.setDisabled(host, false);
                notes.clear(host);
                break;
            case "disable":
            case "disable-log-reason": {
                String reason = Json.optionalString(body, "disabled_reason", 255).orElse("");
                placement.setDisabled(host, true);
                notes.disabled(host, reason);
                break;
            }
            default:
                throw ApiException.notFound("Unknown action " + action + "; use enable, disable or disable-log-reason");
        }
        conductor.hostsChanged();
        // What the host is now: a host its agent reports unusable stays disabled when enabled, and says why.
        ServiceStatus now = status(placement.usage(host).orElseThrow());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("host", host);
        out.put("binary", binary);
        out.put("status", now.status());
        if (now.disabled()) {
            out.put("disabled_reason", now.reason().orElse(""));
        }
        return Map.of("service", out);
    }
}
