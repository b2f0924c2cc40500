package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A load run through the whole stack: N boot requests sent at once to the Compute API of a
 * cloud with two agents (each its own process), small guests (the tiny test guest, 32 MiB),
 * until every server is ACTIVE or ERROR; then all are deleted. Reported: boots per second,
 * time to ACTIVE (p50, p99, max) per request, and the requests that failed, ended in ERROR or
 * were still building at the limit (stuck). With {@code plaintextToo} the same run follows on a
 * second cloud without TLS (bus, gRPC) nor ACLs, and the ratio secured/plaintext is what
 * security costs.
 */
public final class LoadBenchmark {
    private static final Duration LIMIT = Duration.ofMinutes(10);

    private LoadBenchmark() {
    }

    /** The column of the cloud without security, the peer of {@link BenchReport#STRATUS} (secured). */
    static final String PLAINTEXT = "plaintext";
    private static final String TO_ACTIVE = "time to ACTIVE per request";
    private static final String THROUGHPUT = "boots per second (first request to last ACTIVE)";

    public static BenchReport run(BenchCloud.Apps apps, Path guests, Path work, int requests, int clients)
            throws Exception {
        return run(apps, guests, work, requests, clients, false);
    }

    public static BenchReport run(BenchCloud.Apps apps, Path guests, Path work, int requests, int clients,
                                  boolean plaintextToo) throws Exception {
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        once(apps, guests, work.resolve("secured"), requests, clients, true, samples, notes);
        if (plaintextToo) {
            once(apps, guests, work.resolve("plaintext"), requests, clients, false, samples, notes);
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("cloud", "scheduler, image service and two agents (load-a, load-b) as their own processes,"
                + " embedded Kafka broker, H2; one host of 2 cores for all of it");
        setup.put("load", requests + " POST /servers at once from " + clients + " client threads: the tiny test guest"
                + " (guests/instance.c, stratus.idle), 1 vCPU, 32 MiB; status polled every 100 ms");
        setup.put(BenchReport.STRATUS, "secured: Kafka with mutual TLS and ACLs, gRPC with mutual TLS (as deployed)");
        if (plaintextToo) {
            setup.put(PLAINTEXT, "the same cloud, then, with a plaintext bus without ACLs and plaintext gRPC");
        }
        return new BenchReport("load", setup, List.of(samples.measurement(TO_ACTIVE, "s", false),
                samples.measurement(THROUGHPUT, "boots/s", true)), notes, plaintextToo ? PLAINTEXT : "target");
    }

    private static void once(BenchCloud.Apps apps, Path guests, Path work, int requests, int clients, boolean secured,
                             Samples samples, List<String> notes) throws Exception {
        String column = secured ? BenchReport.STRATUS : PLAINTEXT;
        Map<String, Map<String, String>> agents = new LinkedHashMap<>();
        for (String host : List.of("load-a", "load-b")) {
            agents.put(host, Map.of("stratus.agent.capacity.vcpus", Integer.toString(requests),
                    "stratus.agent.capacity.memory-mib", Integer.toString(requests * 40)));
        }
        String toActive = TO_ACTIVE;
        String throughput = THROUGHPUT;
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        Map<String, Long> doneAt = new HashMap<>();
        Map<String, String> faults = new HashMap<>();
        AtomicInteger refused = new AtomicInteger();
        List<Double> times = new ArrayList<>();
        int stuck;
        long start;
        long lastActive;
        try (BenchCloud cloud = BenchCloud.start(apps, work, agents, secured)) {
            String servers = cloud.url + "/compute/v2.1/servers";
            cloud.call("POST", cloud.url + "/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"l1\", \"id\": \"l1\","
                    + " \"vcpus\": 1, \"ram\": 32, \"disk\": 0}}");
            cloud.call("PUT", cloud.url + "/compute/v2.1/os-quota-sets/" + projectOf(cloud), "{\"quota_set\":"
                    + " {\"instances\": -1, \"cores\": -1, \"ram\": -1}}");
            String image = cloud.image("\"name\": \"load\", \"disk_format\": \"aki\", \"container_format\": \"aki\","
                    + " \"os_command_line\": \"stratus.idle\"", guests.resolve("instance.elf"));
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            start = System.nanoTime();
            for (int i = 0; i < requests; i++) {
                String name = "load-" + i;
                pool.execute(() -> {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> r = cloud.send("POST", servers, "{\"server\": {\"name\": \"" + name
                                + "\", \"flavorRef\": \"l1\", \"imageRef\": \"" + image + "\"}}");
                        if (r.statusCode() == 202) {
                            sentAt.put(BenchCloud.json(r).path("server").path("id").asText(), t0);
                        } else {
                            refused.incrementAndGet();
                        }
                    } catch (Exception e) {
                        refused.incrementAndGet();
                    }
                });
            }
            pool.shutdown();
            pool.awaitTermination(LIMIT.toMinutes(), TimeUnit.MINUTES);
            long deadline = start + LIMIT.toNanos();
            while (doneAt.size() + faults.size() < sentAt.size() && System.nanoTime() < deadline) {
                long now = System.nanoTime();
                for (JsonNode s : cloud.call("GET", servers + "/detail?limit=1000", null).path("servers")) {
                    String id = s.path("id").asText();
                    if (!sentAt.containsKey(id) || doneAt.containsKey(id) || faults.containsKey(id)) {
                        continue;
                    }
                    if (s.path("status").asText().equals("ACTIVE")) {
                        doneAt.put(id, now);
                    } else if (s.path("status").asText().equals("ERROR")) {
                        faults.put(id, s.path("fault").path("message").asText());
                    }
                }
                Thread.sleep(100);
            }
            stuck = sentAt.size() - doneAt.size() - faults.size();
            lastActive = doneAt.values().stream().mapToLong(Long::longValue).max().orElse(start);
            for (Map.Entry<String, Long> e : doneAt.entrySet()) {
                times.add((e.getValue() - sentAt.get(e.getKey())) / 1e9);
            }
            times.forEach(t -> samples.add(toActive, column, t));
            samples.add(throughput, column, doneAt.size() / ((lastActive - start) / 1e9));
            for (String id : sentAt.keySet()) {
                cloud.send("DELETE", servers + "/" + id, null);
            }
            long gone = System.nanoTime() + LIMIT.toNanos();
            int left = sentAt.size();
            while (left > 0 && System.nanoTime() < gone) {
                left = cloud.call("GET", servers + "?limit=1000", null).path("servers").size();
                Thread.sleep(500);
            }
            notes.add(column + ": requests " + requests + " (" + clients + " clients): ACTIVE " + doneAt.size() + ", ERROR "
                    + faults.size() + ", refused by the API " + refused.get() + ", stuck after " + LIMIT.toMinutes()
                    + " min " + stuck + "; not deleted after " + LIMIT.toMinutes() + " min: " + left);
            faults.values().stream().distinct().limit(3).forEach(f -> notes.add(column + ": fault: " + f));
        }
        times.sort(Double::compare);
        if (!times.isEmpty()) {
            notes.add(String.format(Locale.ROOT, "%s: time to ACTIVE: p50 %.2f s, p99 %.2f s, max %.2f s", column,
                    times.get(times.size() / 2), times.get(Math.min(times.size() - 1, (int) (times.size() * 0.99))),
                    times.get(times.size() - 1)));
        }
    }

    private static String projectOf(BenchCloud cloud) throws Exception {
        return cloud.call("GET", cloud.url + "/identity/v3/projects?name=admin", null).path("projects").path(0)
                .path("id").asText();
    }
}
