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
import io.stratus.scheduler.selection.RequestSpec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
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
}
