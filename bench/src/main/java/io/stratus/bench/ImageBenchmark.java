package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
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
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final long MIB = 1L << 20;
    private static final String PASSWORD = "bench-admin";
    private static final String AGENT_PASSWORD = "bench-agent";

    private ImageBenchmark() {
    }

    /** The built services. */
    public record Apps(Path scheduler, Path imageService, Path agent) {
    }

    public static BenchReport run(Apps apps, Path guests, Path work, int sizeMib, int bootImageMib, int runs)
            throws Exception {
        Files.createDirectories(work);
        Samples samples = new Samples();
        String up = "upload " + sizeMib + " MiB (PUT, sha256 computed, fsync, rename)";
        String down = "download " + sizeMib + " MiB to a file (fsync)";
        String cold = "boot to ACTIVE, " + bootImageMib + " MiB disk image";
        List<QuarkusProcess> processes = new ArrayList<>();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(
                work.resolve("kafka")))) {
            int imagePort = QuarkusProcess.freePort();
            String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
            QuarkusProcess scheduler = QuarkusProcess.start(apps.scheduler(), 0, Map.of(
                            "stratus.scheduler.data-dir", work.resolve("scheduler").toString(),
                            "stratus.scheduler.image-url", imageUrl, "kafka.bootstrap.servers", broker.bootstrapServers()),
                    Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", PASSWORD), work.resolve("scheduler.log"),
                    Duration.ofMinutes(2), Duration.ofSeconds(5));
            processes.add(scheduler);
            String url = "http://127.0.0.1:" + scheduler.port();
            processes.add(QuarkusProcess.start(apps.imageService(), imagePort, Map.of(
                            "stratus.image.data-dir", work.resolve("images").toString(),
                            "stratus.image.identity-url", url + "/identity/v3"), work.resolve("image-service.log"),
                    Duration.ofMinutes(2), Duration.ofSeconds(5)));
            String token = login(url, "admin", PASSWORD, "admin");
            String service = call("POST", url + "/identity/v3/projects", token,
                    "{\"project\": {\"name\": \"service\"}}").path("project").path("id").asText();
            String user = call("POST", url + "/identity/v3/users", token, "{\"user\": {\"name\": \"stratus-agent\","
                    + " \"password\": \"" + AGENT_PASSWORD + "\", \"default_project_id\": \"" + service + "\"}}")
                    .path("user").path("id").asText();
            call("PUT", url + "/identity/v3/projects/" + service + "/users/" + user + "/roles/service", token, null);
            Map<String, String> agent = new LinkedHashMap<>();
            agent.put("stratus.agent.host", "bench-host");
            agent.put("stratus.agent.data-dir", work.resolve("agent").toString());
            agent.put("stratus.agent.image-service.url", imageUrl);
            agent.put("stratus.agent.image-service.identity-url", url + "/identity/v3");
            agent.put("stratus.agent.report-interval", "1s");
            agent.put("stratus.agent.capacity.vcpus", "4");
            agent.put("stratus.agent.capacity.memory-mib", "1024");
            agent.put("kafka.bootstrap.servers", broker.bootstrapServers());
            processes.add(QuarkusProcess.start(apps.agent(), 0, agent, Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD",
                    AGENT_PASSWORD), work.resolve("agent.log"), Duration.ofMinutes(2), Duration.ofSeconds(5)));
            awaitHost(url, token);
            call("POST", url + "/compute/v2.1/flavors", token, "{\"flavor\": {\"name\": \"b1\", \"id\": \"b1\","
                    + " \"vcpus\": 1, \"ram\": 32, \"disk\": 1}}");

            Path data = work.resolve("data.raw");
            for (int run = 0; run < runs; run++) {
                random(data, sizeMib * MIB, run);
                String id = create(imageUrl, token, "{\"name\": \"bench-" + run + "\", \"disk_format\": \"raw\"}");
                long t0 = System.nanoTime();
                int status = HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/" + id + "/file"))
                        .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
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
                HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/"
                        + id + "/file")).header("X-Auth-Token", token).build(), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(fetched)) {
                    in.transferTo(out);
                }
                force(fetched);
                samples.add(down, BenchReport.STRATUS, sizeMib / seconds(t0));
                samples.add(down, BASELINE, sizeMib / copySeconds(data, work.resolve("copy.raw")));
                call("DELETE", imageUrl + "/v2/images/" + id, token, null);
                Files.deleteIfExists(fetched);
            }
            Files.deleteIfExists(data);
            Files.deleteIfExists(work.resolve("copy.raw"));

            String kernel = create(imageUrl, token, "{\"name\": \"bench-kernel\", \"disk_format\": \"aki\","
                    + " \"container_format\": \"aki\"}");
            upload(imageUrl, token, kernel, guests.resolve("instance.elf"));
            Path disk = work.resolve("disk.raw");
            for (int run = 0; run < runs; run++) {
                // New bytes each run: a new sha256, so the agent's cache has never seen it.
                random(disk, bootImageMib * MIB, 1000 + run);
                String image = create(imageUrl, token, "{\"name\": \"bench-disk-" + run + "\", \"disk_format\":"
                        + " \"raw\", \"kernel_id\": \"" + kernel + "\", \"os_command_line\": \"stratus.idle\"}");
                upload(imageUrl, token, image, disk);
                samples.add(cold, BASELINE, bootSeconds(url, token, image, "cold-" + run));
                samples.add(cold, BenchReport.STRATUS, bootSeconds(url, token, image, "warm-" + run));
            }
            Files.deleteIfExists(disk);
        } finally {
            for (QuarkusProcess p : processes) {
                p.kill();
            }
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

    private static double bootSeconds(String url, String token, String image, String name) throws Exception {
        long t0 = System.nanoTime();
        String id = call("POST", url + "/compute/v2.1/servers", token, "{\"server\": {\"name\": \"" + name + "\","
                + " \"flavorRef\": \"b1\", \"imageRef\": \"" + image + "\"}}").path("server").path("id").asText();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = call("GET", url + "/compute/v2.1/servers/" + id, token, null).path("server");
            String status = s.path("status").asText();
            if (status.equals("ACTIVE")) {
                double seconds = seconds(t0);
                call("DELETE", url + "/compute/v2.1/servers/" + id, token, null);
                while (HTTP.send(get(url + "/compute/v2.1/servers/" + id, token), HttpResponse.BodyHandlers.discarding())
                        .statusCode() != 404) {
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

    private static String create(String imageUrl, String token, String body) throws Exception {
        return call("POST", imageUrl + "/v2/images", token, body).path("id").asText();
    }

    private static void upload(String imageUrl, String token, String id, Path file) throws Exception {
        int status = HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/" + id + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
        if (status != 204) {
            throw new IllegalStateException("upload of " + file + " answered HTTP " + status);
        }
    }

    private static void awaitHost(String url, String token) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode s : call("GET", url + "/compute/v2.1/os-services", token, null).path("services")) {
                if (s.path("state").asText().equals("up")) {
                    return;
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agent did not report to the scheduler");
    }

    private static String login(String url, String user, String password, String project) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/identity/v3/auth/tokens"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \""
                                + user + "\", \"domain\": {\"id\": \"default\"}, \"password\": \"" + password + "\"}}},"
                                + " \"scope\": {\"project\": {\"name\": \"" + project + "\", \"domain\": {\"id\":"
                                + " \"default\"}}}}}")).build(), HttpResponse.BodyHandlers.ofString());
        return r.headers().firstValue("X-Subject-Token").orElseThrow(() ->
                new IllegalStateException("login failed: HTTP " + r.statusCode() + " " + r.body()));
    }

    private static HttpRequest get(String url, String token) {
        return HttpRequest.newBuilder(URI.create(url)).header("X-Auth-Token", token).build();
    }

    private static JsonNode call(String method, String url, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("X-Auth-Token", token);
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(method + " " + url + " answered HTTP " + r.statusCode() + ": " + r.body());
        }
        return r.body() == null || r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
