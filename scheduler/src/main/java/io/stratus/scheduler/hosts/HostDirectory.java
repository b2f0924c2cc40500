package io.stratus.scheduler.hosts;

import com.google.protobuf.Timestamp;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import io.stratus.scheduler.placement.Inventory;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.selection.HostState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The hosts as their agents report them on {@code stratus.hosts}: each report's capacity becomes
 * the host's placement inventory (with the operator's allocation ratios), and its time the host's
 * liveness. A report that changes nothing leaves the inventory, and so the host's generation,
 * alone: reports every few seconds must not make every claim on the host lose its race.
 */
public final class HostDirectory {
    /** How far allocations may exceed each resource (Nova's cpu/ram/disk_allocation_ratio). */
    public record Ratios(double cpu, double ram, double disk) {
    }

    private final PlacementStore store;
    private final Ratios ratios;
    private final Clock clock;
    private final Map<String, Instant> lastReport = new ConcurrentHashMap<>();
    private final Map<String, HostReport> reports = new ConcurrentHashMap<>();
    private final Runnable inventoryChanged;

    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock) {
        this(store, ratios, clock, () -> { });
    }

    /** @param inventoryChanged told after a report added a host or changed its inventory */
    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock, Runnable inventoryChanged) {
        this.store = store;
        this.ratios = ratios;
        this.clock = clock;
        this.inventoryChanged = inventoryChanged;
    }

    /** Takes in one report; reports from a host's past (older than the newest seen) are ignored. */
    public void apply(HostReport report) {
        String host = report.getHost();
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a host report without a host name");
        }
        // A host whose clock runs ahead must not look alive forever: never later than now.
        Instant at = min(instant(report.getReportedAt()), clock.instant());
        Instant known = lastReport.get(host);
        if (known != null && at.isBefore(known)) {
            return;
        }
        Map<ResourceClass, Inventory> wanted = inventory(report.getCapacity());
        Optional<ProviderUsage> current = store.usage(host);
        if (current.isEmpty() || !current.get().inventory().equals(wanted)) {
            store.putInventory(host, wanted);
            inventoryChanged.run();
        }
        lastReport.put(host, at);
        reports.put(host, report);
    }

    /** The newest report of {@code host}: its agent's address, usage and KSM figures. */
    public Optional<HostReport> report(String host) {
        return Optional.ofNullable(reports.get(host));
    }

    /** Whether {@code host} reported within {@code downAfter}. */
    public boolean alive(String host, Duration downAfter) {
        Instant at = lastReport.get(host);
        return at != null && !at.isBefore(clock.instant().minus(downAfter));
    }

    private Map<ResourceClass, Inventory> inventory(Resources capacity) {
        Map<ResourceClass, Inventory> inv = new EnumMap<>(ResourceClass.class);
        inv.put(ResourceClass.VCPU, new Inventory(capacity.getVcpus(), 0, ratios.cpu()));
        inv.put(ResourceClass.MEMORY_MB, new Inventory(capacity.getMemoryMib(), 0, ratios.ram()));
        if (capacity.getDiskGib() > 0) {
            inv.put(ResourceClass.DISK_GB, new Inventory(capacity.getDiskGib(), 0, ratios.disk()));
        }
        return inv;
    }

    public Optional<Instant> lastReport(String host) {
        return Optional.ofNullable(lastReport.get(host));
    }

    /** What selection needs of a host: its placement view, liveness, zone and what runs there. */
    public HostState state(ProviderUsage usage, String zone, Set<String> images, Set<String> instances) {
        return new HostState(usage, lastReport(usage.name()), zone, images, instances);
    }

    private static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
