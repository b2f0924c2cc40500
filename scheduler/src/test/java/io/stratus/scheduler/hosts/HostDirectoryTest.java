package io.stratus.scheduler.hosts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.selection.RequestSpec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcConnectionPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostDirectoryTest {
    private static final Instant NOW = Instant.parse("2026-11-26T08:00:00Z");

    @TempDir
    Path dir;

    private JdbcConnectionPool pool;
    private PlacementStore store;
    private HostDirectory hosts;

    @BeforeEach
    void open() {
        pool = JdbcConnectionPool.create("jdbc:h2:file:" + dir.resolve("scheduler"), "stratus", "");
        Flyway.configure().dataSource(pool).load().migrate();
        store = new PlacementStore(pool);
        hosts = new HostDirectory(store, new HostDirectory.Ratios(4.0, 1.0, 1.0), Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @AfterEach
    void close() {
        pool.dispose();
    }

    private static HostReport report(String host, int vcpus, long memoryMib, Instant at) {
        return HostReport.newBuilder().setHost(host).setEnabled(true)
                .setReportedAt(Timestamp.newBuilder().setSeconds(at.getEpochSecond()))
                .setCapacity(Resources.newBuilder().setVcpus(vcpus).setMemoryMib(memoryMib)).build();
    }

    @Test
    void aNewHostRegistersDisabledWithTheReasonUntilAnOperatorEnablesItAndItsLaterReportsChangeNothing() {
        HostDirectory guarded = new HostDirectory(store, new HostDirectory.Ratios(1.0, 1.0, 1.0),
                Clock.fixed(NOW, ZoneOffset.UTC), () -> { }, r -> { }, Optional.of("new host"));
        guarded.apply(report("h1", 8, 16384, NOW.minusSeconds(30)));

        assertThat(store.usage("h1")).hasValueSatisfying(p -> assertThat(p.disabled()).isTrue());
        assertThat(store.candidates(ResourceRequest.of(1, 512, 0))).as("no boot lands there").isEmpty();
        assertThat(new io.stratus.scheduler.compute.HostNotes(pool).reason("h1")).contains("new host");

        store.setDisabled("h1", false);
        guarded.apply(report("h1", 16, 16384, NOW.minusSeconds(20)));
        assertThat(store.usage("h1")).hasValueSatisfying(p -> assertThat(p.disabled()).isFalse());
    }

    @Test
    void theNetworkSideIsToldAtTheFirstReportAndWhenTheTunnelAddressOrL3RoleChanges() {
        List<String> told = new ArrayList<>();
        HostDirectory withNetworks = new HostDirectory(store, new HostDirectory.Ratios(1.0, 1.0, 1.0),
                Clock.fixed(NOW, ZoneOffset.UTC), () -> { }, r -> told.add(r.getHost() + "=" + r.getTunnelAddress()));
        HostReport first = report("h1", 8, 16384, NOW.minusSeconds(30)).toBuilder().setTunnelAddress("192.0.2.1")
                .build();
        withNetworks.apply(first);
        withNetworks.apply(first.toBuilder().setReportedAt(Timestamp.newBuilder()
                .setSeconds(NOW.minusSeconds(20).getEpochSecond())).build());
        withNetworks.apply(first.toBuilder().setTunnelAddress("192.0.2.9").setReportedAt(Timestamp.newBuilder()
                .setSeconds(NOW.minusSeconds(10).getEpochSecond())).build());
        withNetworks.apply(first.toBuilder().setTunnelAddress("192.0.2.9").setL3Agent(true).setReportedAt(Timestamp
                .newBuilder().setSeconds(NOW.minusSeconds(5).getEpochSecond())).build());
        // The third: the host took the L3 role (routers are placed on it).
        assertThat(told).containsExactly("h1=192.0.2.1", "h1=192.0.2.9", "h1=192.0.2.9");
        assertThat(withNetworks.tunnelAddress("h1")).contains("192.0.2.9");
    }

    @Test
    void aReportBecomesTheHostsInventoryWithTheRatios() {
        hosts.apply(report("h1", 8, 16384, NOW.minusSeconds(3)));
        ProviderUsage h1 = store.usage("h1").orElseThrow();
        assertThat(h1.free(ResourceClass.VCPU)).isEqualTo(32);
        assertThat(h1.free(ResourceClass.MEMORY_MB)).isEqualTo(16384);
        assertThat(hosts.lastReport("h1")).contains(NOW.minusSeconds(3));
    }

    @Test
    void anUnchangedReportLeavesTheGenerationAloneAndAChangedOneUpdates() {
        hosts.apply(report("h1", 8, 16384, NOW.minusSeconds(20)));
        long generation = store.usage("h1").orElseThrow().generation();
        hosts.apply(report("h1", 8, 16384, NOW.minusSeconds(10)));
        assertThat(store.usage("h1").orElseThrow().generation()).isEqualTo(generation);
        assertThat(hosts.lastReport("h1")).contains(NOW.minusSeconds(10));
        hosts.apply(report("h1", 4, 16384, NOW.minusSeconds(5)));
        assertThat(store.usage("h1").orElseThrow().free(ResourceClass.VCPU)).isEqualTo(16);
        // A report from the host's past changes nothing.
        hosts.apply(report("h1", 64, 16384, NOW.minusSeconds(30)));
        assertThat(store.usage("h1").orElseThrow().free(ResourceClass.VCPU)).isEqualTo(16);
        assertThatThrownBy(() -> hosts.apply(HostReport.getDefaultInstance())).hasMessageContaining("host name");
    }

    @Test
    void aHostThatStopsReportingIsNotChosenAndOneFromTheFutureIsNotForeverAlive() {
        hosts.apply(report("quiet", 8, 16384, NOW.minusSeconds(90)));
        hosts.apply(report("ahead", 8, 16384, NOW.plus(Duration.ofHours(1))));
        hosts.apply(report("live", 2, 4096, NOW.minusSeconds(5)));
        assertThat(hosts.lastReport("ahead")).contains(NOW);
        HostSelector selector = new HostSelector(List.of(Filters.alive(Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ofSeconds(60))), List.of());
        RequestSpec spec = new RequestSpec("i-1", ResourceRequest.of(1, 512, 0), Optional.empty(), "img",
                Optional.empty());
        List<String> chosen = selector.select(store.all().stream().map(p -> hosts.state(p, "nova", Set.of(),
                Set.of())).toList(), spec).stream().map(h -> h.name()).toList();
        assertThat(chosen).containsExactly("ahead", "live");
    }

    @Test
    void anOldAgentsReportIsTodaysKvmDriverThatMovesGuestsBothWays() {
        hosts.apply(report("old", 8, 16384, NOW));
        Hypervisor old = hosts.hypervisor("old").orElseThrow();
        assertThat(old.type()).isEqualTo("KVM");
        assertThat(old.traits()).containsExactlyInAnyOrder(Hypervisor.DRIVER_KVM, Hypervisor.LIVE_MIGRATION,
                Hypervisor.COLD_MIGRATION);
        assertThat(old.versionNumber()).isEqualTo(OptionalLong.empty());
        assertThat(hosts.disabledByAgent("old")).isEmpty();
        assertThat(hosts.hypervisor("never-reported")).isEmpty();
    }

    @Test
    void aNewAgentsReportGivesItsDriverItsVersionAndItsTraits() {
        hosts.apply(report("q1", 8, 16384, NOW).toBuilder().setHypervisorType("QEMU").setHypervisorVersion("7.2.0")
                .addTraits(Hypervisor.DRIVER_QEMU).addTraits(Hypervisor.COLD_MIGRATION).build());
        Hypervisor q1 = hosts.hypervisor("q1").orElseThrow();
        assertThat(q1).isEqualTo(new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
                Hypervisor.COLD_MIGRATION)));
        assertThat(q1.versionNumber()).hasValue(7_002_000);
        HostState state = hosts.state(store.usage("q1").orElseThrow(), "nova", Set.of(), Set.of());
        assertThat(state.hypervisor()).isEqualTo(q1);
        assertThat(state.disabledByAgent()).isEmpty();
    }

    @Test
    void aHostItsAgentReportsUnusableIsDisabledWithTheAgentsReasonAndNotChosen() {
        String why = "no hypervisor driver works: /dev/kvm is missing and qemu-system-x86_64 is not installed";
        hosts.apply(report("broken", 8, 16384, NOW).toBuilder().setEnabled(false).setDisabledReason(why).build());
        hosts.apply(report("fine", 2, 4096, NOW));
        assertThat(hosts.disabledByAgent("broken")).contains(why);
        assertThat(hosts.hypervisor("broken").orElseThrow()).as("not taken for an old agent: it gave a reason")
                .isEqualTo(Hypervisor.UNKNOWN);
        ProviderUsage broken = store.usage("broken").orElseThrow();
        assertThat(broken.disabled()).as("the operator's switch is left as it was").isFalse();
        assertThat(hosts.service(broken, Optional.empty())).isEqualTo(new ServiceStatus(true, Optional.of(why)));
        assertThat(hosts.service(store.usage("fine").orElseThrow(), Optional.empty())).isEqualTo(ServiceStatus.ENABLED);

        HostSelector selector = new HostSelector(List.of(Filters.alive(Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ofSeconds(60))), List.of());
        RequestSpec spec = new RequestSpec("i-1", ResourceRequest.of(1, 512, 0), Optional.empty(), "img",
                Optional.empty());
        HostSelector.Decision d = selector.decide(store.all().stream().map(p -> hosts.state(p, "nova", Set.of(),
                Set.of())).toList(), spec);
        assertThat(d.chosen()).extracting(HostState::name).containsExactly("fine");
        assertThat(d.summary()).isEqualTo("ComputeFilter removed 1 (broken)");

        // Its agent gets a driver working again: the host takes guests at once.
        hosts.apply(report("broken", 8, 16384, NOW).toBuilder().setHypervisorType("QEMU")
                .addTraits(Hypervisor.DRIVER_QEMU).build());
        assertThat(hosts.disabledByAgent("broken")).isEmpty();
        assertThat(hosts.service(store.usage("broken").orElseThrow(), Optional.empty()).disabled()).isFalse();
    }

    @Test
    void aReportWithoutAReasonDoesNotDisableTheHost() {
        // enabled = false alone is what a report built without the field reads as; only a reason disables.
        hosts.apply(report("quiet", 8, 16384, NOW).toBuilder().setEnabled(false).build());
        assertThat(hosts.disabledByAgent("quiet")).isEmpty();
    }
}
