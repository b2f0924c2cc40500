package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Images from the image service to guests on two agents: fetched once per host and verified,
 * kept in each agent's cache, and shared copy-on-write by the instances' disks. The guests are
 * the tiny test guest booted directly, with a 64 MiB disk image of random data (nothing in it
 * compresses or is sparse, so a copy would cost its full size).
 */
@ResourceLock(LocalCloud.ROOT_NAMESPACE_AGENTS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ImageCacheIT {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long BASE_BYTES = 64L << 20;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private LocalCloud cloud;
    private Api admin;
    private Api images;
    private QuarkusProcess one;
    private QuarkusProcess two;
    private String kernelId;
    private String diskId;
    private String diskSha;

    @BeforeAll
    void start() throws Exception {
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-image-cache-it-"), "cache", Map.of());
        admin = cloud.admin;
        one = cloud.agent("one", cloud.imageUrl, 2048, Map.of());
        two = cloud.agent("two", cloud.imageUrl, 2048, Map.of());
        cloud.awaitHostsUp("one", "two");
        images = admin.at(cloud.imageBase());
        kernelId = images.ok("POST", "/image/v2/images", Map.of("name", "tiny-kernel", "disk_format", "aki",
                "container_format", "aki", "visibility", "public")).path("id").asText();
        assertThat(images.upload(kernelId, Path.of(System.getProperty("stratus.testGuests"), "instance.elf"))
                .status()).isEqualTo(204);
        Path base = cloud.dir.resolve("base.raw");
        diskSha = randomFile(base, BASE_BYTES, 1);
        diskId = images.ok("POST", "/image/v2/images", Map.of("name", "tiny-disk", "disk_format", "raw",
                "container_format", "bare", "visibility", "public", "kernel_id", kernelId,
                "os_command_line", "stratus.idle")).path("id").asText();
        assertThat(images.upload(diskId, base).status()).isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "c1", "id", "c1", "vcpus", 1,
                "ram", 32, "disk", 1)));
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    @Order(1)
    void tenGuestsFromOneImageDownloadItOnceAndShareIt() throws Exception {
        admin.switchHost("two", false);
        try {
            List<String> ids = boot("ten", 10, diskId);
            for (String id : ids) {
                assertThat(admin.awaitServer(id, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("one");
            }
            // The kernel and the disk image: each fetched once, whatever the number of guests.
            assertThat(metric(one, "stratus_agent_image_downloads_total")).isEqualTo(2);
            assertThat(metric(one, "stratus_agent_image_cache_hits_total")).isGreaterThanOrEqualTo(18);
            Path blobs = cloud.dir.resolve("one/image-cache/blobs");
            assertThat(blobs.resolve(diskSha)).exists();
            long layers = 0;
            try (Stream<Path> disks = Files.walk(cloud.dir.resolve("one/instances"))) {
                for (Path d : disks.filter(p -> p.getFileName().toString().equals("disk.qcow2")).toList()) {
                    layers += allocatedBytes(d);
                }
            }
            // Ten instance disks of the flavor's 1 GiB over the 64 MiB image: within 10 % of it.
            assertThat(layers).as("disk used by ten copy-on-write layers").isLessThanOrEqualTo(BASE_BYTES / 10);
            System.out.printf("ten instance disks over a %d MiB image: %d KiB allocated in all (%.2f %%)%n",
                    BASE_BYTES >> 20, layers >> 10, 100.0 * layers / BASE_BYTES);
            deleteAll(ids);
        } finally {
            admin.switchHost("two", true);
        }
    }

    @Test
    @Order(2)
    void eachAgentDownloadsOnceAndCacheHitsDoNotDownloadAgain() throws Exception {
        admin.switchHost("one", false);
        List<String> onTwo;
        try {
            onTwo = boot("on-two", 2, diskId);
            for (String id : onTwo) {
                assertThat(admin.awaitServer(id, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("two");
            }
        } finally {
            admin.switchHost("one", true);
        }
        assertThat(metric(two, "stratus_agent_image_downloads_total")).isEqualTo(2);
        double before = metric(one, "stratus_agent_image_downloads_total");
        admin.switchHost("two", false);
        try {
            List<String> again = boot("again", 1, diskId);
            assertThat(admin.awaitServer(again.get(0), "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText())
                    .isEqualTo("one");
            assertThat(metric(one, "stratus_agent_image_downloads_total")).as("a cache hit").isEqualTo(before);
            deleteAll(again);
        } finally {
            admin.switchHost("two", true);
        }
        deleteAll(onTwo);
    }

    @Test
    @Order(3)
    void dataThatDoesNotMatchItsSha256IsRefusedFetchedAgainAndNeverBooted() throws Exception {
        Path file = cloud.dir.resolve("small.raw");
        // Not whole sectors: the instance disk is rounded up to them.
        String sha = randomFile(file, (1 << 20) + 123, 2);
        String id = images.ok("POST", "/image/v2/images", Map.of("name", "rotten", "disk_format", "raw",
                "visibility", "public", "kernel_id", kernelId, "os_command_line", "stratus.idle")).path("id").asText();
        assertThat(images.upload(id, file).status()).isEqualTo(204);
        // The stored data rots on the image service's disk: what it serves no longer has the image's sha256.
        Path stored = cloud.dir.resolve("images/blobs").resolve(sha);
        flipByte(stored, 4096);
        double mismatches = metric(one, "stratus_agent_image_checksum_mismatches_total")
                + metric(two, "stratus_agent_image_checksum_mismatches_total");
        String server = boot("rotten", 1, id).get(0);
        JsonNode failed = admin.awaitServer(server, "ERROR", WAIT);
        assertThat(failed.path("fault").path("message").asText()).contains("ImageChecksumMismatch");
        // Every host that tried fetched it twice (once more after the first mismatch) and kept nothing.
        double now = metric(one, "stratus_agent_image_checksum_mismatches_total")
                + metric(two, "stratus_agent_image_checksum_mismatches_total");
        long refused = (long) (now - mismatches);
        assertThat(refused).isGreaterThanOrEqualTo(2);
        assertThat(refused % 2).as("two fetches per host that tried").isZero();
        assertThat(cloud.dir.resolve("one/image-cache/blobs").resolve(sha)).doesNotExist();
        assertThat(cloud.dir.resolve("two/image-cache/blobs").resolve(sha)).doesNotExist();
        deleteAll(List.of(server));

        // Repaired at the source: the next boot fetches it and runs.
        flipByte(stored, 4096);
        String healed = boot("healed", 1, id).get(0);
        admin.awaitServer(healed, "ACTIVE", WAIT);
        deleteAll(List.of(healed));
    }

    private List<String> boot(String prefix, int count, String image) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(admin.ok("POST", "/compute/v2.1/servers", Api.server(prefix + "-" + i, "c1", image))
                    .path("server").path("id").asText());
        }
        return ids;
    }

    private void deleteAll(List<String> ids) {
        for (String id : ids) {
            admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        }
        for (String id : ids) {
            admin.awaitGone(id, WAIT);
        }
    }

    private static double metric(QuarkusProcess agent, String name) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*} ([0-9.E+-]+)$").matcher(text);
        assertThat(m.find()).as(name + " on /metrics").isTrue();
        return Double.parseDouble(m.group(1));
    }

    /** Bytes the file system allocated to {@code file} (du), not its apparent size. */
    private static long allocatedBytes(Path file) throws Exception {
        Process du = new ProcessBuilder("du", "-k", "--", file.toString()).redirectErrorStream(true).start();
        String out = new String(du.getInputStream().readAllBytes()).trim();
        assertThat(du.waitFor()).as("du " + file + ": " + out).isZero();
        return Long.parseLong(out.split("\\s+")[0]) * 1024;
    }

    private static String randomFile(Path file, long size, long seed) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += chunk.length) {
                random.nextBytes(chunk);
                int n = (int) Math.min(chunk.length, size - done);
                out.write(chunk, 0, n);
                sha.update(chunk, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
    }
}
