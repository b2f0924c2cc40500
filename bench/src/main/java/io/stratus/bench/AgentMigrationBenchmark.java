package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What security costs a live migration as the cloud runs it: a server live-migrated through the
 * Compute API between two agents (each its own process, their hypervisor driver: the in-JVM VMM
 * on /dev/kvm, QEMU elsewhere), its memory streamed agent to agent over gRPC, first in a cloud as
 * deployed (mutual TLS on the bus and on gRPC, ACLs), then in the same cloud without TLS nor
 * ACLs. Measured: the API's request to the server settled on the other host, back and forth.
 * The guest ({@code guests/migrant.c}) fills a region of its RAM with patterns (no zero pages to
 * skip) and idles.
 */
public final class AgentMigrationBenchmark {
    static final String PLAINTEXT = LoadBenchmark.PLAINTEXT;
    private static final Duration LIMIT = Duration.ofMinutes(5);
    private static final String METRIC = "live migration through the API (request to settled on the other host)";

    private AgentMigrationBenchmark() {
    }

    public static BenchReport run(BenchCloud.Apps apps, Path guests, Path work, int memoryMib, int runs)
            throws Exception {
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        once(apps, guests, work.resolve("secured"), memoryMib, runs, true, samples, notes);
        once(apps, guests, work.resolve("plaintext"), memoryMib, runs, false, samples, notes);
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("cloud", "scheduler, image service and two agents (mig-a, mig-b) as their own processes on this"
                + " machine, embedded Kafka broker, H2");
        setup.put("guest", "guests/migrant.c, 1 vCPU, " + memoryMib + " MiB, of which " + region(memoryMib)
                + " MiB filled with patterns, then idle");
        setup.put(BenchReport.STRATUS, "secured: Kafka with mutual TLS and ACLs, gRPC (the memory stream) with mutual"
                + " TLS, as deployed");
        setup.put(PLAINTEXT, "the same cloud, then, with a plaintext bus without ACLs and plaintext gRPC");
        return new BenchReport("migrate-agents", setup, List.of(samples.measurement(METRIC, "s", false)), notes,
                PLAINTEXT);
    }

    private static int region(int memoryMib) {
        return Math.max(1, memoryMib / 2);
    }

    private static void once(BenchCloud.Apps apps, Path guests, Path work, int memoryMib, int runs, boolean secured,
                             Samples samples, List<String> notes) throws Exception {
        String column = secured ? BenchReport.STRATUS : PLAINTEXT;
        Map<String, Map<String, String>> agents = new LinkedHashMap<>();
        for (String host : List.of("mig-a", "mig-b")) {
            agents.put(host, Map.of("stratus.agent.capacity.vcpus", "4",
                    "stratus.agent.capacity.memory-mib", Integer.toString(memoryMib * 2 + 256)));
        }
        try (BenchCloud cloud = BenchCloud.start(apps, work, agents, secured)) {
            String compute = cloud.url + "/compute/v2.1";
            cloud.call("POST", compute + "/flavors", "{\"flavor\": {\"name\": \"mig\", \"id\": \"mig\", \"vcpus\": 1,"
                    + " \"ram\": " + memoryMib + ", \"disk\": 0}}");
            String image = cloud.image("\"name\": \"migrant\", \"disk_format\": \"aki\", \"container_format\": \"aki\","
                    + " \"os_command_line\": \"mig.kib=" + region(memoryMib) * 1024 + " mig.delay=200000000"
                    + " mig.every=1\"", guests.resolve("migrant.elf"));
            String id = cloud.call("POST", compute + "/servers", "{\"server\": {\"name\": \"mover\", \"flavorRef\":"
                    + " \"mig\", \"imageRef\": \"" + image + "\"}}").path("server").path("id").asText();
            String host = settled(cloud, compute, id).path("OS-EXT-SRV-ATTR:host").asText();
            for (int i = 0; i < runs; i++) {
                String target = host.equals("mig-a") ? "mig-b" : "mig-a";
                long t0 = System.nanoTime();
                cloud.call("POST", compute + "/servers/" + id + "/action", "{\"os-migrateLive\": {\"host\": \""
                        + target + "\", \"block_migration\": \"auto\"}}");
                JsonNode s = settled(cloud, compute, id);
                double seconds = (System.nanoTime() - t0) / 1e9;
                String now = s.path("OS-EXT-SRV-ATTR:host").asText();
                if (!now.equals(target) || !s.path("status").asText().equals("ACTIVE")) {
                    notes.add(column + ": migration " + (i + 1) + " to " + target + " ended on " + now + ", "
                            + s.path("status").asText() + ": not counted");
                    continue;
                }
                samples.add(METRIC, column, seconds);
                host = now;
            }
            cloud.send("DELETE", compute + "/servers/" + id, null);
        }
    }

    /** The server once no task runs on it and it is not building; fails past the limit or in ERROR. */
    private static JsonNode settled(BenchCloud cloud, String compute, String id) throws Exception {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = cloud.call("GET", compute + "/servers/" + id, null).path("server");
            String status = s.path("status").asText();
            if (status.equals("ERROR")) {
                throw new IllegalStateException("server " + id + " went to ERROR: " + s.path("fault"));
            }
            if (!status.equals("BUILD") && s.path("OS-EXT-STS:task_state").isNull()) {
                return s;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("server " + id + " did not settle within " + LIMIT);
    }
}
