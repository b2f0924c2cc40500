package io.stratus.agent.lifecycle;

import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import io.stratus.agent.bus.EventPublisher;
import io.stratus.agent.config.AgentConfig;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.network.NetworkSettings;
import io.stratus.agent.network.PortPlugs;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.telemetry.HostFigures;
import io.stratus.agent.telemetry.InstanceMeters;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.MemoryFootprint;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceSample;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.Resources;
import jakarta.annotation.PostConstruct;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * What this host reports: {@code HostReport}s to {@code stratus.hosts.<host>} (compacted: the latest per
 * host is its liveness), instance samples to {@code stratus.telemetry}, and the host gauges of
 * {@code /metrics}.
 */
@Singleton
public class HostReports {
    private static final Logger LOG = Logger.getLogger(HostReports.class);

    @Inject
    AgentConfig config;

    @Inject
    AgentStore store;

    @Inject
    GuestSupervisor guests;

    @Inject
    EventPublisher publisher;

    @Inject
    InstanceMeters meters;

    @Inject
    MeterRegistry registry;

    @Inject
    PortPlugs plugs;

    @Inject
    NetworkSettings network;

    private volatile boolean enabled;

    @PostConstruct
    void registerHostGauges() {
        String host = config.host();
        Gauge.builder("stratus.host.instances", () -> guests.all().size()).description("guests running")
                .tag("host", host).register(registry);
        Gauge.builder("stratus.host.vcpus.capacity", () -> config.capacity().vcpus()).tag("host", host)
                .register(registry);
        Gauge.builder("stratus.host.vcpus.allocated", () -> allocated().getVcpus()).tag("host", host)
                .register(registry);
        Gauge.builder("stratus.host.memory.capacity", () -> config.capacity().memoryMib() << 20).baseUnit("bytes")
                .tag("host", host).register(registry);
        Gauge.builder("stratus.host.memory.allocated", () -> allocated().getMemoryMib() << 20).baseUnit("bytes")
                .tag("host", host).register(registry);
        Gauge.builder("stratus.host.memory.available", () -> HostFigures.memory()[1]).baseUnit("bytes")
                .tag("host", host).register(registry);
        Gauge.builder("stratus.host.ksm.saved", HostFigures::ksmSavedBytes).baseUnit("bytes").tag("host", host)
                .register(registry);
    }

    private Resources allocated() {
        return HostFigures.allocated(store.all());
    }

    /** Reports start once the agent has recovered its guests and listens for commands. */
    void enable() {
        enabled = true;
        publish();
    }

    void disable() {
        enabled = false;
    }

    /** The report as of now. */
    public HostReport current() {
        List<InstanceRecord> records = store.all();
        long[] memory = HostFigures.memory();
        HostReport.Builder r = HostReport.newBuilder().setHost(config.host()).setReportedAt(now())
                .setAgentVersion(version()).setEnabled(enabled).setCapacity(AgentComponents.capacity(config))
                .setAllocated(HostFigures.allocated(records)).setInstanceCount((int) records.stream()
                        .filter(InstanceRecord::holdsResources).count())
                .setMemoryTotalBytes(memory[0]).setMemoryAvailableBytes(memory[1])
                .setKsmSavedBytes(HostFigures.ksmSavedBytes())
                .setHardwareVirtualization(HostFigures.hardwareVirtualization());
        balloons(records, r);
        config.grpcAddress().ifPresent(r::setGrpcAddress);
        // No tunnel address: this host cannot carry tenant networks, and NICs are not placed here.
        if (plugs.unusable().isEmpty()) {
            r.setTunnelAddress(network.tunnelAddress());
            // Routers are placed only where the data plane works.
            r.setL3Agent(network.l3Agent());
        }
        DriverCapabilities driver = guests.driver().capabilities();
        r.setHypervisorType(driver.hypervisorType()).setHypervisorVersion(driver.version())
                .addAllTraits(driver.traits().stream().sorted().toList());
        driver.unusable().ifPresent(reason -> r.setEnabled(false).setDisabledReason(reason));
        return r.build();
    }

    /**
     * The running guests' balloons, summed: what each holds is the guest's memory less what the
     * guest keeps beside it (a guest without a balloon keeps all of it).
     */
    private void balloons(List<InstanceRecord> records, HostReport.Builder r) {
        long held = 0;
        long available = 0;
        int ballooned = 0;
        for (InstanceRecord rec : records) {
            if (rec.state() == InstanceState.DELETED || guests.running(rec.id()).isEmpty()) {
                continue;
            }
            GuestUsage u = guests.usage(rec.id());
            long holds = Math.max(0, (rec.resources().getMemoryMib() << 20) - u.balloonActualBytes());
            held += holds;
            available += u.guestAvailableBytes();
            ballooned += holds > 0 ? 1 : 0;
        }
        r.setBalloonHeldBytes(held).setGuestAvailableBytes(available).setBalloonedGuests(ballooned);
    }

    @Scheduled(every = "${stratus.agent.report-interval:10s}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void publish() {
        if (!enabled) {
            return;
        }
        try {
            List<InstanceRecord> records = store.all();
            meters.reconcile(records);
            publisher.publish(current());
            for (InstanceRecord r : records) {
                if (r.state() != InstanceState.DELETED && guests.running(r.id()).isPresent()) {
                    publisher.publish(sample(r));
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("host %s: report not published: %s", config.host(), e.getMessage());
        }
    }

    private InstanceSample sample(InstanceRecord r) {
        GuestUsage u = guests.usage(r.id());
        Optional<MemoryFootprint> f = meters.footprint(r.id());
        return InstanceSample.newBuilder().setInstanceId(r.id()).setTenantId(r.tenantId()).setHost(config.host())
                .setSampledAt(now()).setCpuSeconds(u.cpuSeconds()).setMemoryBytes(r.resources().getMemoryMib() << 20)
                .setBalloonActualBytes(u.balloonActualBytes()).setGuestAvailableBytes(u.guestAvailableBytes())
                .setKsmMergedBytes(f.map(MemoryFootprint::ksmBytes).orElse(0L))
                .setResidentBytes(f.map(MemoryFootprint::residentBytes).orElse(0L))
                .setDiskReadBytes(u.diskReadBytes()).setDiskWriteBytes(u.diskWriteBytes())
                .setDiskReadOps(u.diskReadOps()).setDiskWriteOps(u.diskWriteOps()).setNetRxBytes(u.netRxBytes())
                .setNetTxBytes(u.netTxBytes()).setNetRxPackets(u.netRxPackets()).setNetTxPackets(u.netTxPackets())
                .build();
    }

    private static Timestamp now() {
        return ProtoTime.timestamp(Instant.now());
    }

    private static String version() {
        String v = HostReports.class.getPackage().getImplementationVersion();
        return v == null ? "development" : v;
    }
}
