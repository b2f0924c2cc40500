package io.stratus.agent.telemetry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.MemoryFootprint;
import io.stratus.proto.v1.InstanceState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import org.jboss.logging.Logger;

/**
 * Prometheus meters per instance, labelled {@code instance}, {@code tenant} and {@code host}: CPU
 * seconds, memory (configured, balloon actual, guest available, resident, KSM-merged), disk and
 * network bytes and operations. Counters continue across the instance's VMs; the meters go when
 * the instance is deleted.
 */
public final class InstanceMeters {
    private static final Logger LOG = Logger.getLogger(InstanceMeters.class);
    /** Walking the page tables of guest RAM is not free: at most once per this many ms per instance. */
    private static final long FOOTPRINT_MAX_AGE_MILLIS = 5_000;

    private final MeterRegistry registry;
    private final GuestSupervisor guests;
    private final String host;
    private final Map<String, List<Meter>> meters = new HashMap<>();
    private final Map<String, TimedFootprint> footprints = new ConcurrentHashMap<>();
    /** The latest record of each instance: a resize changes the configured memory. */
    private final Map<String, InstanceRecord> latest = new ConcurrentHashMap<>();
    private volatile boolean pageFlagsReadable = true;

    private record TimedFootprint(long at, MemoryFootprint footprint) {
    }

    public InstanceMeters(MeterRegistry registry, GuestSupervisor guests, String host) {
        this.registry = registry;
        this.guests = guests;
        this.host = host;
    }

    /** Follows one instance's change: meters for a new one, none for a deleted one. */
    public synchronized void follow(InstanceRecord r) {
        if (r.state() == InstanceState.DELETED) {
            List<Meter> gone = meters.remove(r.id());
            if (gone != null) {
                gone.forEach(registry::remove);
            }
            footprints.remove(r.id());
            latest.remove(r.id());
            return;
        }
        latest.put(r.id(), r);
        meters.computeIfAbsent(r.id(), id -> register(r));
    }

    /** Adds meters for new instances and removes those of deleted ones. */
    public synchronized void reconcile(List<InstanceRecord> records) {
        Map<String, InstanceRecord> live = new HashMap<>();
        for (InstanceRecord r : records) {
            if (r.state() != InstanceState.DELETED) {
                live.put(r.id(), r);
                latest.put(r.id(), r);
            }
        }
        meters.keySet().removeIf(id -> {
            if (live.containsKey(id)) {
                return false;
            }
            meters.get(id).forEach(registry::remove);
            footprints.remove(id);
            latest.remove(id);
            return true;
        });
        for (InstanceRecord r : live.values()) {
            meters.computeIfAbsent(r.id(), id -> register(r));
        }
    }

    private List<Meter> register(InstanceRecord r) {
        String id = r.id();
        Tags tags = Tags.of("instance", id, "tenant", r.tenantId(), "host", host);
        List<Meter> m = new ArrayList<>();
        m.add(counter("stratus.instance.cpu", "seconds", "CPU time of the guest's vCPUs", tags, id,
                GuestUsage::cpuSeconds));
        m.add(counter("stratus.instance.disk.read", "bytes", "bytes the guest read from its disks", tags, id,
                u -> u.diskReadBytes()));
        m.add(counter("stratus.instance.disk.write", "bytes", "bytes the guest wrote to its disks", tags, id,
                u -> u.diskWriteBytes()));
        m.add(counter("stratus.instance.disk.read.requests", null, "disk read requests", tags, id,
                u -> u.diskReadOps()));
        m.add(counter("stratus.instance.disk.write.requests", null, "disk write requests", tags, id,
                u -> u.diskWriteOps()));
        m.add(counter("stratus.instance.network.receive", "bytes", "bytes received by the guest", tags, id,
                u -> u.netRxBytes()));
        m.add(counter("stratus.instance.network.transmit", "bytes", "bytes sent by the guest", tags, id,
                u -> u.netTxBytes()));
        m.add(counter("stratus.instance.network.receive.packets", null, "packets received", tags, id,
                u -> u.netRxPackets()));
        m.add(counter("stratus.instance.network.transmit.packets", null, "packets sent", tags, id,
                u -> u.netTxPackets()));
        m.add(gauge("stratus.instance.memory.configured", "guest memory of the flavor", tags,
                () -> Optional.ofNullable(latest.get(id)).map(x -> x.resources().getMemoryMib() << 20).orElse(0L)));
        m.add(gauge("stratus.instance.memory.balloon.actual", "memory the guest holds beside its balloon", tags,
                () -> guests.running(id).isPresent() ? guests.usage(id).balloonActualBytes() : 0));
        m.add(gauge("stratus.instance.memory.guest.available", "memory the guest reports available", tags,
                () -> guests.running(id).isPresent() ? guests.usage(id).guestAvailableBytes() : 0));
        m.add(gauge("stratus.instance.memory.resident", "guest RAM resident in host memory", tags,
                () -> footprint(id).map(MemoryFootprint::residentBytes).orElse(0L)));
        m.add(gauge("stratus.instance.memory.ksm.merged", "guest RAM merged by KSM", tags,
                () -> footprint(id).map(MemoryFootprint::ksmBytes).orElse(0L)));
        return m;
    }

    private Meter counter(String name, String unit, String help, Tags tags, String id,
                          ToDoubleFunction<GuestUsage> value) {
        FunctionCounter.Builder<GuestSupervisor> b = FunctionCounter.builder(name, guests, g -> value.applyAsDouble(
                g.usage(id))).description(help).tags(tags);
        if (unit != null) {
            b.baseUnit(unit);
        }
        return b.register(registry);
    }

    private Meter gauge(String name, String help, Tags tags, java.util.function.Supplier<Number> value) {
        return Gauge.builder(name, value).description(help).baseUnit("bytes").tags(tags).register(registry);
    }

    /** The guest's host memory footprint, at most a few seconds old; empty without a guest or page flags. */
    public Optional<MemoryFootprint> footprint(String id) {
        Optional<Guest> guest = guests.running(id);
        if (guest.isEmpty() || !pageFlagsReadable) {
            return Optional.empty();
        }
        long now = System.currentTimeMillis();
        TimedFootprint known = footprints.get(id);
        if (known != null && now - known.at() < FOOTPRINT_MAX_AGE_MILLIS) {
            return Optional.of(known.footprint());
        }
        try {
            Optional<MemoryFootprint> f = guest.get().machine().footprint();
            f.ifPresent(measured -> footprints.put(id, new TimedFootprint(now, measured)));
            return f;
        } catch (RuntimeException e) {
            // Without CAP_SYS_ADMIN the kernel hides page frames: say so once, then leave these gauges at 0.
            pageFlagsReadable = false;
            LOG.warnf("guest memory footprints unavailable (resident and KSM gauges stay 0): %s", e.getMessage());
            return Optional.empty();
        }
    }
}
