package io.stratus.scheduler.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.RequestSpec;
import io.stratus.scheduler.selection.Weigher;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcConnectionPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Placement on its real schema (the Flyway migrations) in an H2 file database. */
class PlacementTest {
    private static final Comparator<ProviderUsage> BY_NAME = Comparator.comparing(ProviderUsage::name);
    /** Spread: the host with the most free memory first. */
    private static final Comparator<ProviderUsage> SPREAD = Comparator.comparingLong(
            (ProviderUsage p) -> -p.free(ResourceClass.MEMORY_MB)).thenComparing(ProviderUsage::name);

    @TempDir
    Path dir;

    private final List<JdbcConnectionPool> pools = new ArrayList<>();
    private PlacementStore store;

    @BeforeEach
    void open() {
        JdbcConnectionPool pool = pool();
        Flyway.configure().dataSource(pool).load().migrate();
        store = new PlacementStore(pool);
    }

    /** A connection pool of its own, as a scheduler replica has. */
    private JdbcConnectionPool pool() {
        JdbcConnectionPool pool = JdbcConnectionPool.create("jdbc:h2:file:" + dir.resolve("placement")
                + ";LOCK_TIMEOUT=10000", "stratus", "");
        pool.setMaxConnections(16);
        pools.add(pool);
        return pool;
    }

    @AfterEach
    void close() {
        pools.forEach(JdbcConnectionPool::dispose);
    }

    private void host(String name, long vcpus, long memoryMb, double cpuRatio) {
        store.putInventory(name, Map.of(ResourceClass.VCPU, new Inventory(vcpus, 0, cpuRatio),
                ResourceClass.MEMORY_MB, new Inventory(memoryMb, 512, 1.0)));
    }

    @Test
    void capacityIsTotalLessReservedTimesTheRatio() {
        assertThat(new Inventory(8, 2, 4.0).capacity()).isEqualTo(24);
        assertThat(new Inventory(2, 4, 2.0).capacity()).isZero();
        assertThatThrownBy(() -> new Inventory(1, 0, 0)).hasMessageContaining("positive");
        assertThatThrownBy(() -> ResourceRequest.of(0, 512, 0)).hasMessageContaining("VCPU must be positive");
    }

    @Test
    void aClaimTakesFromTheHostAndAReleaseGivesBack() {
        host("h1", 4, 4608, 1.0);
        String chosen = new Placement(store).place("i-1", ResourceRequest.of(3, 1024, 0), BY_NAME);
        assertThat(chosen).isEqualTo("h1");
        ProviderUsage h1 = store.usage("h1").orElseThrow();
        assertThat(h1.free(ResourceClass.VCPU)).isEqualTo(1);
        assertThat(h1.free(ResourceClass.MEMORY_MB)).isEqualTo(3072);
        assertThat(store.allocations("i-1")).isEqualTo(Map.of("h1", Map.of(ResourceClass.VCPU, 3L,
                ResourceClass.MEMORY_MB, 1024L)));
        assertThatThrownBy(() -> new Placement(store).place("i-2", ResourceRequest.of(2, 512, 0), BY_NAME))
                .isInstanceOf(NoValidHostException.class).hasMessageContaining("2 VCPU, 512 MEMORY_MB");
        assertThat(store.release("i-1")).isTrue();
        assertThat(store.release("i-1")).isFalse();
        assertThat(store.usage("h1").orElseThrow().free(ResourceClass.VCPU)).isEqualTo(4);
    }

    @Test
    void aClaimOnAStaleViewIsRefusedAndWritesNothing() {
        host("h1", 4, 4608, 1.0);
        ProviderUsage seen = store.usage("h1").orElseThrow();
        assertThat(store.claim("i-1", seen, ResourceRequest.of(2, 512, 0))).isTrue();
        assertThat(store.claim("i-2", seen, ResourceRequest.of(2, 512, 0))).as("generation moved").isFalse();
        assertThat(store.allocations("i-2")).isEmpty();
        ProviderUsage fresh = store.usage("h1").orElseThrow();
        assertThat(fresh.generation()).isEqualTo(seen.generation() + 1);
        assertThatThrownBy(() -> store.claim("i-1", fresh, ResourceRequest.of(1, 512, 0)))
                .isInstanceOf(PlacementException.class).hasMessageContaining("already holds");
        assertThat(store.usage("h1").orElseThrow().generation()).as("rolled back").isEqualTo(fresh.generation());
    }

    @Test
    void theSelectionOrdersAndFiltersTheHostsThatFit() {
        host("h1", 4, 4608, 1.0);
        host("h2", 4, 8704, 1.0);
        host("down", 64, 65536, 1.0);
        HostSelector selector = new HostSelector(
                List.of(Filters.alive(Clock.systemUTC(),
                        Duration.ofMinutes(1))),
                List.of(Weigher.ram(1.0)));
        RequestSpec spec = new RequestSpec("i-1",
                ResourceRequest.of(1, 1024, 0), Optional.empty(), "img", Optional.empty());
        // "down" never reported: the scheduler's view leaves it out, whatever room it has.
        String chosen = new Placement(store).place("i-1", spec.resources(), selector.forPlacement(spec,
                p -> new HostState(p, p.name().equals("down") ? Optional.empty()
                        : Optional.of(Instant.now()), "nova", Set.of(), Set.of())));
        assertThat(chosen).isEqualTo("h2");
    }

    @Test
    void disabledHostsAndHostsWithoutRoomAreNotChosen() {
        host("big", 16, 16896, 1.0);
        host("small", 2, 2560, 1.0);
        store.setDisabled("big", true);
        assertThat(new Placement(store).place("i-1", ResourceRequest.of(1, 1024, 0), SPREAD)).isEqualTo("small");
        assertThatThrownBy(() -> new Placement(store).place("i-2", ResourceRequest.of(4, 1024, 0), SPREAD))
                .isInstanceOf(NoValidHostException.class);
        store.setDisabled("big", false);
        assertThat(new Placement(store).place("i-2", ResourceRequest.of(4, 1024, 0), SPREAD)).isEqualTo("big");
        assertThatThrownBy(() -> store.setDisabled("nowhere", true)).hasMessageContaining("no host nowhere");
    }

    /**
     * Three replicas (each with its own connection pool) and 12 threads race 300 one-vCPU claims
     * for 3 hosts with 40 vCPUs each: exactly 120 succeed, every host ends exactly full, and the
     * allocations in the database add up to what each claimant believes it got.
     */
    @Test
    void concurrentReplicasNeverOverCommitAHost() throws Exception {
        ClaimRace.run(store, List.of(new PlacementStore(pool()), new PlacementStore(pool()),
                new PlacementStore(pool())));
    }
}
