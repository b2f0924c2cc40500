package io.stratus.scheduler.hosts;

import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.Resources;
import io.stratus.scheduler.placement.Inventory;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.Hypervisor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The hosts as their agents report them on {@code stratus.hosts}: each report's capacity becomes
 * the host's placement inventory (with the operator's allocation ratios), and its time the host's
 * liveness. A report that changes nothing leaves the inventory, and so the host's generation,
 * alone: reports every few seconds must not make every claim on the host lose its race. Each
 * report also says which hypervisor driver runs the host's guests, what it can do (traits), and
 * whether the agent can run guests at all; that stays here, beside the operator's switch in
 * placement, never written over it.
 */
public final class HostDirectory {
    /** A host's newest report, with what it says of the host's driver, read once when it came. */
    private record Known(HostReport report, Hypervisor hypervisor, Optional<String> disabledByAgent) {
        static Known of(HostReport r) {
            return new Known(r, driverOf(r), !r.getEnabled() && !r.getDisabledReason().isBlank()
                    ? Optional.of(r.getDisabledReason()) : Optional.empty());
        }
    }

    /** How far allocations may exceed each resource (Nova's cpu/ram/disk_allocation_ratio). */
    public record Ratios(double cpu, double ram, double disk) {
    }

    private final PlacementStore store;
    private final Ratios ratios;
    private final Clock clock;
    private final Map<String, Instant> lastReport = new ConcurrentHashMap<>();
    private final Map<String, Known> reports = new ConcurrentHashMap<>();
    private final Runnable inventoryChanged;
    private final Consumer<HostReport> networkReported;
    private final Optional<String> newHostsDisabled;

    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock) {
        this(store, ratios, clock, () -> { }, report -> { });
    }

    /** @param inventoryChanged told after a report added a host or changed its inventory */
    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock, Runnable inventoryChanged) {
        this(store, ratios, clock, inventoryChanged, report -> { });
    }

    /**
     * @param inventoryChanged told after a report added a host or changed its inventory
     * @param networkReported  told a host's report on its first report here and whenever its tunnel
     *                         address or L3 role changes: the network side republishes what depends on them
     */
    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock, Runnable inventoryChanged,
                         Consumer<HostReport> networkReported) {
        this(store, ratios, clock, inventoryChanged, networkReported, Optional.empty());
    }

    /**
     * @param newHostsDisabled the reason a host is registered disabled with on its first report,
     *                         until an operator enables it (Nova's {@code enable_new_services=False});
     *                         empty: a new host takes servers at once
     */
    public HostDirectory(PlacementStore store, Ratios ratios, Clock clock, Runnable inventoryChanged,
                         Consumer<HostReport> networkReported, Optional<String> newHostsDisabled) {
        this.newHostsDisabled = newHostsDisabled;
        this.store = store;
        this.ratios = ratios;
        this.clock = clock;
        this.inventoryChanged = inventoryChanged;
        this.networkReported = networkReported;
    }

    /** Takes in one report; reports from a host's past (older than the newest seen) are ignored. */
    public void apply(HostReport report) {
        String host = report.getHost();
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a host report without a host name");
        }
        // A host whose clock runs ahead must not look alive forever: never later than now.
        Instant at = min(ProtoTime.instant(report.getReportedAt()), clock.instant());
        Instant known = lastReport.get(host);
        if (known != null && at.isBefore(known)) {
            return;
        }
        Map<ResourceClass, Inventory> wanted = inventory(report.getCapacity());
        Optional<ProviderUsage> current = store.usage(host);
        if (current.isEmpty() || !current.get().inventory().equals(wanted)) {
            store.putInventory(host, wanted, newHostsDisabled);
            inventoryChanged.run();
        }
        // Told before the report is kept: should the listener fail, the next report tells it again.
        Known before = reports.get(host);
        if (before == null || !before.report().getTunnelAddress().equals(report.getTunnelAddress())
                || before.report().getL3Agent() != report.getL3Agent()) {
            networkReported.accept(report);
        }
        lastReport.put(host, at);
        reports.put(host, Known.of(report));
    }

    /** The address {@code host}'s VXLAN tunnels use, as its newest report says; empty if it said none. */
    public Optional<String> tunnelAddress(String host) {
        return report(host).map(HostReport::getTunnelAddress).filter(a -> !a.isEmpty());
    }

    /** The newest report of {@code host}: its agent's address, usage and KSM figures. */
    public Optional<HostReport> report(String host) {
        return known(host).map(Known::report);
    }

    private Optional<Known> known(String host) {
        return Optional.ofNullable(reports.get(host));
    }

    /**
     * The hypervisor driver of {@code host} as its newest report says; empty before its first
     * report. A report without a type, traits or disabled reason comes from an agent older than
     * those fields, which ran the KVM driver: {@link Hypervisor#LEGACY_KVM}.
     */
    public Optional<Hypervisor> hypervisor(String host) {
        return known(host).map(Known::hypervisor);
    }

    private static Hypervisor driverOf(HostReport r) {
        if (r.getHypervisorType().isEmpty() && r.getTraitsCount() == 0 && r.getDisabledReason().isEmpty()) {
            return r.getHypervisorVersion().isEmpty() ? Hypervisor.LEGACY_KVM : new Hypervisor(
                    Hypervisor.LEGACY_KVM.type(), r.getHypervisorVersion(), Hypervisor.LEGACY_KVM.traits());
        }
        return new Hypervisor(r.getHypervisorType(), r.getHypervisorVersion(), Set.copyOf(r.getTraitsList()));
    }

    /**
     * Why the agent of {@code host} says no guest can run there: its newest report has
     * {@code enabled = false} and a {@code disabled_reason}. Empty when it has no objection.
     */
    public Optional<String> disabledByAgent(String host) {
        return known(host).flatMap(Known::disabledByAgent);
    }

    /**
     * The host's compute service as operators see it: the operator's switch ({@code usage}'s
     * disabled flag and {@code operatorReason}) together with what its agent reports.
     */
    public ServiceStatus service(ProviderUsage usage, Optional<String> operatorReason) {
        return ServiceStatus.of(usage.disabled(), operatorReason, disabledByAgent(usage.name()));
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

    /**
     * What selection needs of a host: its placement view, liveness, zone, what runs there, and
     * its driver as reported (a host not reported yet has none, and no traits).
     */
    public HostState state(ProviderUsage usage, String zone, Set<String> images, Set<String> instances) {
        Optional<Known> known = known(usage.name());
        return new HostState(usage, lastReport(usage.name()), zone, images, instances,
                known.map(k -> k.report().getHardwareVirtualization()).orElse(false),
                known.map(Known::hypervisor).orElse(Hypervisor.UNKNOWN), known.flatMap(Known::disabledByAgent));
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
