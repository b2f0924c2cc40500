package io.stratus.scheduler.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.local.LocalPostgres;
import io.stratus.database.Database;
import io.stratus.database.Sql;
import io.stratus.scheduler.placement.Inventory;
import io.stratus.scheduler.placement.NoValidHostException;
import io.stratus.scheduler.placement.Placement;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.RequestSpec;
import io.stratus.scheduler.selection.Weigher;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code stratus bench schedule}: placement throughput and decision latency with simulated hosts
 * (inventories only, no agents) on PostgreSQL, with K scheduler replicas — each with its own
 * connection pool, picture of the hosts and worker threads, as separate scheduler processes have —
 * racing for the same hosts. Every decision is the real one: the filters and weighers over the
 * replica's picture, then the atomic claim in the database. Afterwards the database is checked
 * for over-committed hosts, which must be 0.
 *
 * <p>There is no Nova here to run beside it, so the figures are compared with the target the
 * project set (500 placements/s with 10,000 hosts and 3 replicas on a 2-core machine).
 */
public final class ScheduleBenchmark {
    private static final double TARGET_PER_SECOND = 500;
    /** As the scheduler service runs it. */
    private static final Duration VIEW_MAX_AGE = Duration.ofSeconds(10);
    private static final long[][] FLAVORS = {{1, 512, 1}, {1, 2048, 20}, {2, 4096, 40}, {4, 8192, 80}};

    private ScheduleBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int hosts = 1000;
        int requests = 5000;
        int schedulers = 1;
        int threads = 4;
        boolean json = false;
        String url = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--hosts":
                    hosts = positive(args, ++i);
                    break;
                case "--requests":
                    requests = positive(args, ++i);
                    break;
                case "--schedulers":
                    schedulers = positive(args, ++i);
                    break;
                case "--threads":
                    threads = positive(args, ++i);
                    break;
                case "--json":
                    json = true;
                    break;
                case "--database-url":
                    url = args[++i];
                    break;
                default:
                    System.err.println("usage: stratus bench schedule [--hosts N] [--requests M] [--schedulers K]"
                            + " [--threads T] [--database-url jdbc:postgresql://...] [--json]");
                    System.exit(2);
            }
        }
        int exit;
        LocalPostgres pg = null;
        try {
            if (url == null) {
                pg = LocalPostgres.start();
                url = pg.createDatabase("stratus_bench");
            }
            Map<String, Object> result = run(url, hosts, requests, schedulers, threads);
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(result));
            } else {
                result.forEach((k, v) -> System.out.printf("%-24s %s%n", k, v));
            }
            exit = ((Number) result.get("over_committed_hosts")).intValue() == 0 ? 0 : 1;
        } finally {
            if (pg != null) {
                pg.close();
            }
        }
        System.exit(exit);
    }

    static Map<String, Object> run(String url, int hostCount, int requestCount, int schedulers, int threads)
            throws Exception {
        Random random = new Random(42);
        Clock clock = Clock.systemUTC();
        List<Database> pools = new ArrayList<>();
        try (Database setup = Database.open(url, "stratus", "", 8)) {
            pools.add(setup);
            createHosts(setup, hostCount, random);
            List<Replica> replicas = new ArrayList<>();
            for (int k = 0; k < schedulers; k++) {
                Database db = Database.open(url, "stratus", "", threads + 2);
                pools.add(db);
                replicas.add(new Replica(db, clock));
            }
            long[] latencies = new long[requestCount];
            AtomicInteger placed = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(schedulers * threads);
            List<Future<?>> all = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < requestCount; i++) {
                int n = i;
                long[] f = FLAVORS[random.nextInt(FLAVORS.length)];
                Replica replica = replicas.get(i % schedulers);
                all.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    try {
                        replica.place("bench-" + n, ResourceRequest.of(f[0], f[1], f[2]));
                        placed.incrementAndGet();
                    } catch (NoValidHostException e) {
                        refused.incrementAndGet();
                    }
                    latencies[n] = System.nanoTime() - t0;
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            Arrays.sort(latencies);
            Sql sql = new Sql(setup.dataSource());
            long overCommitted = sql.count("SELECT COUNT(DISTINCT i.provider) FROM inventory i JOIN (SELECT provider,"
                    + " resource_class, SUM(used) AS used FROM allocation GROUP BY provider, resource_class) a"
                    + " ON a.provider = i.provider AND a.resource_class = i.resource_class"
                    + " WHERE a.used > (i.total - i.reserved) * i.allocation_ratio");
            long allocated = sql.count("SELECT COUNT(DISTINCT consumer) FROM allocation");
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("benchmark", "schedule");
            out.put("database", "postgresql");
            out.put("hosts", hostCount);
            out.put("requests", requestCount);
            out.put("schedulers", schedulers);
            out.put("threads_per_scheduler", threads);
            out.put("placed", placed.get());
            out.put("refused_no_valid_host", refused.get());
            out.put("allocations_in_db", allocated);
            out.put("seconds", round(seconds));
            out.put("placements_per_second", round(placed.get() / seconds));
            out.put("decisions_per_second", round(requestCount / seconds));
            out.put("p50_ms", round(latencies[requestCount / 2] / 1e6));
            out.put("p99_ms", round(latencies[Math.min(requestCount - 1, (int) (requestCount * 0.99))] / 1e6));
            out.put("over_committed_hosts", overCommitted);
            out.put("target_placements_per_second", TARGET_PER_SECOND);
            out.put("ratio_to_target", round(placed.get() / seconds / TARGET_PER_SECOND));
            return out;
        } finally {
            for (int i = pools.size() - 1; i > 0; i--) {
                pools.get(i).close();
            }
        }
    }

    /** Hosts of 16-64 vCPUs (4x over-commit), 32-256 GiB and 0.5-2 TiB, as a mixed fleet. */
    private static void createHosts(Database db, int count, Random random) throws Exception {
        PlacementStore store = new PlacementStore(db.dataSource());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = String.format("sim-%05d", i);
            int scale = 1 << random.nextInt(3);
            Map<ResourceClass, Inventory> inv = new EnumMap<>(ResourceClass.class);
            inv.put(ResourceClass.VCPU, new Inventory(16L * scale, 0, 4.0));
            inv.put(ResourceClass.MEMORY_MB, new Inventory(32768L * scale, 2048, 1.0));
            inv.put(ResourceClass.DISK_GB, new Inventory(512L * scale, 0, 1.0));
            all.add(pool.submit(() -> {
                store.putInventory(name, inv);
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
    }

    /** One scheduler replica: its own pool, picture of the hosts, filters and weighers. */
    private static final class Replica {
        private final Placement placement;
        private final PlacementView view;
        private final HostSelector selector;
        private final Optional<Instant> alive;

        Replica(Database db, Clock clock) {
            PlacementStore store = new PlacementStore(db.dataSource());
            this.placement = new Placement(store);
            this.view = new PlacementView(store, clock, VIEW_MAX_AGE, 1000);
            this.selector = new HostSelector(List.of(Filters.alive(clock, Duration.ofSeconds(60)),
                    Filters.availabilityZone(), Filters.imageProperties(), Filters.resources(), Filters.serverGroup()),
                    List.of(Weigher.ram(1.0), Weigher.cpu(0.0), Weigher.sameImage(1.0)));
            this.alive = Optional.of(clock.instant());
        }

        String place(String consumer, ResourceRequest request) {
            RequestSpec spec = new RequestSpec(consumer, request, Optional.empty(), "bench-image", Optional.empty());
            return placement.place(consumer, request, selector.forPlacement(spec,
                    p -> new HostState(p, alive, "nova", Set.of(), Set.of())), view);
        }
    }

    private static int positive(String[] args, int i) {
        if (i >= args.length || !args[i].matches("[1-9][0-9]{0,6}")) {
            throw new IllegalArgumentException("expected a positive number after " + args[i - 1]);
        }
        return Integer.parseInt(args[i]);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
