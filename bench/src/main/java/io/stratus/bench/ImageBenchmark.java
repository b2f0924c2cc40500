package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Images through the services as deployed (scheduler for Identity and Compute, the image
 * service, one agent, each its own process): upload and download throughput of the image
 * service against copying the same file on the same disk, and a boot's time to ACTIVE from a
 * cold agent cache (the image is fetched and verified first) against a warm one.
 */
public final class ImageBenchmark {
    static final String BASELINE = "baseline";
    private static final long MIB = 1L << 20;

    private ImageBenchmark() {
    }

    public static BenchReport run(BenchCloud.Apps apps, Path guests, Path work, int sizeMib, int bootImageMib, int runs)
            throws Exception {
        Files.createDirectories(work);
        Samples samples = new Samples();
        String up = "upload " + sizeMib + " MiB (PUT, sha256 computed, fsync, rename)";
        String down = "download " + sizeMib + " MiB to a file (fsync)";
        String cold = "boot to ACTIVE, " + bootImageMib + " MiB disk image";
        try (BenchCloud cloud = BenchCloud.start(apps, work, Map.of("bench-host", Map.of(
                "stratus.agent.capacity.vcpus", "4", "stratus.agent.capacity.memory-mib", "1024")))) {
            String imageUrl = cloud.imageUrl;
            String token = cloud.token;
            String url = cloud.url;
            cloud.call("POST", url + "/compute/v2.1/flavors", "{\"flavor\": {\"name\": \"b1\", \"id\": \"b1\","
                    + " \"vcpus\": 1, \"ram\": 32, \"disk\": 1}}");

            Path data = work.resolve("data.raw");
            for (int run = 0; run < runs; run++) {
                random(data, sizeMib * MIB, run);
                String id = cloud.call("POST", imageUrl + "/v2/images", "{\"name\": \"bench-" + run + "\","
                        + " \"disk_format\": \"raw\"}").path("id").asText();
                long t0 = System.nanoTime();
                int status = BenchCloud.HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/" + id
                        + "/file")).header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofFile(data)).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode();
                double upSeconds = seconds(t0);
                if (status != 204) {
                    throw new IllegalStateException("upload answered HTTP " + status);
                }
                samples.add(up, BenchReport.STRATUS, sizeMib / upSeconds);
                samples.add(up, BASELINE, sizeMib / copySeconds(data, work.resolve("copy.raw")));

                Path fetched = work.resolve("fetched.raw");
                t0 = System.nanoTime();
                HttpResponse<InputStream> r = BenchCloud.HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl
                        + "/v2/images/" + id + "/file")).header("X-Auth-Token", token).build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(fetched)) {
                    in.transferTo(out);
                }
                force(fetched);
                samples.add(down, BenchReport.STRATUS, sizeMib / seconds(t0));
                samples.add(down, BASELINE, sizeMib / copySeconds(data, work.resolve("copy.raw")));
                cloud.call("DELETE", imageUrl + "/v2/images/" + id, null);
                Files.deleteIfExists(fetched);
            }
            Files.deleteIfExists(data);
            Files.deleteIfExists(work.resolve("copy.raw"));

            String kernel = cloud.image("\"name\": \"bench-kernel\", \"disk_format\": \"aki\","
                    + " \"container_format\": \"aki\"", guests.resolve("instance.elf"));
            Path disk = work.resolve("disk.raw");
            for (int run = 0; run < runs; run++) {
                // New bytes each run: a new sha256, so the agent's cache has never seen it.
                random(disk, bootImageMib * MIB, 1000 + run);
                String image = cloud.image("\"name\": \"bench-disk-" + run + "\", \"disk_format\": \"raw\","
                        + " \"kernel_id\": \"" + kernel + "\", \"os_command_line\": \"stratus.idle\"", disk);
                samples.add(cold, BASELINE, bootSeconds(cloud, image, "cold-" + run));
                samples.add(cold, BenchReport.STRATUS, bootSeconds(cloud, image, "warm-" + run));
            }
            Files.deleteIfExists(disk);
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("services", "scheduler, image service and agent as their own processes (packaged Quarkus apps),"
                + " embedded Kafka broker; loopback HTTP/1.1; " + runs + " run(s)");
        setup.put("throughput", "stratus: the image service (data to " + work + "); baseline: copying the same file"
                + " on the same disk (FileChannel.transferTo, then fsync), the ceiling of a store-to-disk service");
        setup.put("boot", "the tiny test guest (guests/instance.c) booted directly, with a fresh random disk image;"
                + " stratus: warm agent cache (the image on the host already), baseline: the first boot of that image"
                + " on the host (cold cache: fetched, sha256-verified, then the copy-on-write disk made)");
        return new BenchReport("images", setup, List.of(samples.measurement(up, "MiB/s", true),
                samples.measurement(down, "MiB/s", true), samples.measurement(cold, "s", false)), List.of(), BASELINE);
    }

    private static double bootSeconds(BenchCloud cloud, String image, String name) throws Exception {
        long t0 = System.nanoTime();
        String servers = cloud.url + "/compute/v2.1/servers";
        String id = cloud.call("POST", servers, "{\"server\": {\"name\": \"" + name + "\", \"flavorRef\": \"b1\","
                + " \"imageRef\": \"" + image + "\"}}").path("server").path("id").asText();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = cloud.call("GET", servers + "/" + id, null).path("server");
            String status = s.path("status").asText();
            if (status.equals("ACTIVE")) {
                double seconds = seconds(t0);
                cloud.call("DELETE", servers + "/" + id, null);
                while (cloud.send("GET", servers + "/" + id, null).statusCode() != 404) {
                    Thread.sleep(100);
                }
                return seconds;
            }
            if (status.equals("ERROR")) {
                throw new IllegalStateException("server " + name + " went to ERROR: " + s.path("fault"));
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("server " + name + " did not become ACTIVE within 5 minutes");
    }

    private static double copySeconds(Path from, Path to) throws IOException {
        Files.deleteIfExists(to);
        long t0 = System.nanoTime();
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long size = in.size();
            for (long done = 0; done < size; ) {
                done += in.transferTo(done, size - done, out);
            }
            out.force(true);
        }
        double s = seconds(t0);
        Files.delete(to);
        return s;
    }

    private static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void random(Path file, long size, long seed) throws IOException {
        Random random = new Random(new SecureRandom().nextLong() ^ seed);
        byte[] chunk = new byte[(int) MIB];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, size - done));
            }
        }
        force(file);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
