package io.stratus.scheduler.placement;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The over-commit race, on whichever database the caller's stores use: 12 threads over the given
 * replicas race 300 one-vCPU claims for 3 hosts with 40 vCPUs each; exactly 120 may succeed.
 */
final class ClaimRace {
    private ClaimRace() {
    }

    static void run(PlacementStore check, List<PlacementStore> replicaStores) throws Exception {
        for (String h : List.of("h1", "h2", "h3")) {
            Map<ResourceClass, Inventory> inv = new EnumMap<>(ResourceClass.class);
            inv.put(ResourceClass.VCPU, new Inventory(40, 0, 1.0));
            inv.put(ResourceClass.MEMORY_MB, new Inventory(1_000_512, 0, 1.0));
            check.putInventory(h, inv);
        }
        List<Placement> replicas = replicaStores.stream().map(Placement::new).toList();
        ExecutorService threads = Executors.newFixedThreadPool(12);
        Map<String, AtomicInteger> granted = new ConcurrentHashMap<>();
        AtomicInteger refused = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String consumer = "i-" + i;
            Placement replica = replicas.get(i % replicas.size());
            // Every replica prefers the same host (pack): the worst case for races.
            all.add(threads.submit(() -> {
                go.await();
                try {
                    String host = replica.place(consumer, ResourceRequest.of(1, 1024, 0),
                            Comparator.comparing(ProviderUsage::name));
                    granted.computeIfAbsent(host, k -> new AtomicInteger()).incrementAndGet();
                } catch (NoValidHostException e) {
                    refused.incrementAndGet();
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : all) {
            f.get();
        }
        threads.shutdown();
        assertThat(refused.get()).isEqualTo(180);
        for (ProviderUsage p : check.all()) {
            assertThat(p.used().get(ResourceClass.VCPU)).as(p.name()).isEqualTo(40L);
            assertThat(granted.get(p.name()).get()).as(p.name()).isEqualTo(40);
            assertThat(p.free(ResourceClass.VCPU)).isZero();
        }
    }
}
