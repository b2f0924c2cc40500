package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The image service as its own process with a 64 MiB heap, checking tokens against the real
 * scheduler's Identity API (its own process, with the embedded broker it needs).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageServiceIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    // HTTP/1.1, as the OpenStack clients speak it.
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private static final long GIB = 1L << 30;

    private Path dir;
    private EmbeddedKafkaBroker broker;
    private final List<QuarkusProcess> processes = new ArrayList<>();
    private String identity;
    private String images;
    private int imagePort;
    private String admin;
    private String other;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("stratus-image-it-");
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")));
        Map<String, String> s = new LinkedHashMap<>();
        s.put("stratus.scheduler.data-dir", dir.resolve("scheduler").toString());
        s.put("kafka.bootstrap.servers", broker.bootstrapServers());
        QuarkusProcess scheduler = QuarkusProcess.start(Path.of(System.getProperty("stratus.schedulerApp")), 0, s,
                Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", "pw"), logs.resolve("scheduler.log"),
                Duration.ofMinutes(2), Duration.ofSeconds(10));
        processes.add(scheduler);
        identity = "http://127.0.0.1:" + scheduler.port() + "/identity/v3";
        Map<String, String> i = new LinkedHashMap<>();
        i.put("stratus.image.data-dir", dir.resolve("images").toString());
        i.put("stratus.image.identity-url", identity);
        i.put("stratus.image.project-quota-bytes", Long.toString(GIB + GIB / 2));
        // The heap is far smaller than the images: data that were buffered would not fit.
        imagePort = QuarkusProcess.freePort();
        QuarkusProcess imageService = QuarkusProcess.start(Path.of(System.getProperty("stratus.imageApp")),
                imagePort, i, Map.of("JAVA_TOOL_OPTIONS", "-Xmx64m"), logs.resolve("image-service.log"),
                Duration.ofMinutes(2), Duration.ofSeconds(10));
        processes.add(imageService);
        images = "http://127.0.0.1:" + imagePort + "/image/v2";
        admin = login("admin", "pw", "admin");
        String project = json("POST", identity + "/projects", admin, "{\"project\": {\"name\": \"other\"}}")
                .path("project").path("id").asText();
        String user = json("POST", identity + "/users", admin, "{\"user\": {\"name\": \"carol\", \"password\":"
                + " \"carol-pw\", \"default_project_id\": \"" + project + "\"}}").path("user").path("id").asText();
        send("PUT", identity + "/projects/" + project + "/users/" + user + "/roles/member", admin, null);
        other = login("carol", "carol-pw", "other");
    }

    @AfterAll
    void stop() throws Exception {
        for (QuarkusProcess p : processes) {
            p.kill();
        }
        broker.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aGibibyteGoesInAndOutThroughA64MibHeapAndIsStoredOnce() throws Exception {
        Path data = dir.resolve("big.raw");
        String sha = writePattern(data, GIB);
        String first = create(admin, "{\"name\": \"big\", \"disk_format\": \"raw\", \"container_format\": \"bare\"}");
        assertThat(upload(admin, first, data).statusCode()).isEqualTo(204);
        JsonNode shown = json("GET", images + "/images/" + first, admin, null);
        assertThat(shown.path("status").asText()).isEqualTo("active");
        assertThat(shown.path("size").asLong()).isEqualTo(GIB);
        assertThat(shown.path("os_hash_value").asText()).isEqualTo(sha);

        HttpResponse<InputStream> down = HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images/" + first
                + "/file")).header("X-Auth-Token", admin).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(digest(down.body())).isEqualTo(sha);

        // The same data as another image: stored once. The quota counts it for both (1.5 GiB).
        String second = create(admin, "{\"name\": \"same\", \"disk_format\": \"raw\"}");
        HttpResponse<String> over = upload(admin, second, data);
        assertThat(over.statusCode()).isEqualTo(413);
        assertThat(over.body()).contains("project quota left");
        assertThat(json("GET", images + "/images/" + second, admin, null).path("status").asText()).isEqualTo("queued");
        try (Stream<Path> blobs = Files.list(dir.resolve("images/blobs"))) {
            assertThat(blobs.count()).isEqualTo(1);
        }
        long heapMax = metric("jvm_memory_max_bytes\\{area=\"heap\",id=\"[^\"]*\"} ([0-9.E]+)");
        assertThat(heapMax).isLessThanOrEqualTo(64L << 20);
        send("DELETE", images + "/images/" + first, admin, null);
        send("DELETE", images + "/images/" + second, admin, null);
        try (Stream<Path> blobs = Files.list(dir.resolve("images/blobs"))) {
            assertThat(blobs.count()).as("data without an image goes").isZero();
        }
    }

    @Test
    void aTruncatedUploadLeavesTheImageQueuedAndServesNothing() throws Exception {
        String id = create(admin, "{\"name\": \"cut\", \"disk_format\": \"raw\"}");
        try (Socket s = new Socket("127.0.0.1", imagePort)) {
            OutputStream out = s.getOutputStream();
            out.write(("PUT /image/v2/images/" + id + "/file HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + admin
                    + "\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[40_000]);
            out.flush();
        }
        // The image was queued before the upload too, and no scratch file existed yet: neither
        // says the service has seen the cut. Its log line does; the scratch file goes after it.
        Path log = Path.of("target", "it-logs", "image-service.log");
        String failed = "image " + id + ": upload failed after";
        for (int i = 0; i < 100 && !Files.readString(log).contains(failed); i++) {
            Thread.sleep(100);
        }
        assertThat(Files.readString(log)).contains(failed);
        Path uploads = dir.resolve("images/uploads");
        for (int i = 0; i < 100 && scratchFiles(uploads) > 0; i++) {
            Thread.sleep(100);
        }
        assertThat(scratchFiles(uploads)).as("no scratch file left").isZero();
        JsonNode shown = awaitStatus(id, "queued");
        assertThat(shown.path("size").isNull()).isTrue();
        HttpResponse<String> file = send("GET", images + "/images/" + id + "/file", admin, null);
        assertThat(file.statusCode()).isEqualTo(204);
        assertThat(file.body()).isEmpty();
        // It can be uploaded again, whole.
        Path small = dir.resolve("small.raw");
        String sha = writePattern(small, 1 << 20);
        assertThat(upload(admin, id, small).statusCode()).isEqualTo(204);
        assertThat(json("GET", images + "/images/" + id, admin, null).path("os_hash_value").asText()).isEqualTo(sha);
        send("DELETE", images + "/images/" + id, admin, null);
    }

    @Test
    void rangesAreServedAndBadOnesRefused() throws Exception {
        Path small = dir.resolve("ranged.raw");
        writePattern(small, 4096);
        byte[] all = Files.readAllBytes(small);
        String id = create(admin, "{\"name\": \"ranged\", \"disk_format\": \"raw\"}");
        upload(admin, id, small);
        HttpResponse<byte[]> part = HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images/" + id + "/file"))
                .header("X-Auth-Token", admin).header("Range", "bytes=100-109").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(part.statusCode()).isEqualTo(206);
        assertThat(part.headers().firstValue("Content-Range")).hasValue("bytes 100-109/4096");
        assertThat(part.body()).isEqualTo(java.util.Arrays.copyOfRange(all, 100, 110));
        HttpResponse<byte[]> tail = HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images/" + id + "/file"))
                .header("X-Auth-Token", admin).header("Range", "bytes=-16").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(tail.body()).isEqualTo(java.util.Arrays.copyOfRange(all, 4080, 4096));
        for (String bad : List.of("bytes=5-2", "bytes=9000-", "bytes=0-1,5-6", "lines=1-2")) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images/" + id + "/file"))
                    .header("X-Auth-Token", admin).header("Range", bad).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(bad).isEqualTo(416);
            assertThat(r.headers().firstValue("Content-Range")).hasValue("bytes */4096");
        }
        send("DELETE", images + "/images/" + id, admin, null);
    }

    @Test
    void aProjectSeesItsOwnAndPublicImagesOnly() throws Exception {
        String mine = create(other, "{\"name\": \"carols\", \"disk_format\": \"raw\"}");
        String secret = create(admin, "{\"name\": \"admins\", \"disk_format\": \"raw\"}");
        String shared = create(admin, "{\"name\": \"everyones\", \"disk_format\": \"raw\", \"visibility\": \"public\"}");
        assertThat(send("GET", images + "/images/" + secret, other, null).statusCode()).isEqualTo(404);
        assertThat(send("DELETE", images + "/images/" + secret, other, null).statusCode()).isEqualTo(404);
        assertThat(send("DELETE", images + "/images/" + shared, other, null).statusCode()).isEqualTo(403);
        List<String> seen = new ArrayList<>();
        json("GET", images + "/images", other, null).path("images").forEach(i -> seen.add(i.path("id").asText()));
        assertThat(seen).contains(mine, shared).doesNotContain(secret);
        HttpResponse<String> publish = send("POST", images + "/images", other,
                "{\"name\": \"x\", \"visibility\": \"public\"}");
        assertThat(publish.statusCode()).isEqualTo(403);
        for (String id : List.of(mine)) {
            send("DELETE", images + "/images/" + id, other, null);
        }
        send("DELETE", images + "/images/" + secret, admin, null);
        send("DELETE", images + "/images/" + shared, admin, null);
    }

    @Test
    void badInputIsAClearClientError() throws Exception {
        HttpResponse<String> r = send("POST", images + "/images", admin, "{\"name\": \"x\", \"disk_format\": \"vhdz\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("'vhdz' is not one of").contains("'disk_format'");
        // Glance's own formats are taken as Glance takes them (tempest's image tests use them).
        for (String format : List.of("vhd", "vhdx", "vmdk", "vdi", "iso", "ploop")) {
            send("DELETE", images + "/images/" + create(admin, "{\"name\": \"f\", \"disk_format\": \"" + format
                    + "\", \"container_format\": \"ovf\"}"), admin, null);
        }
        assertThat(send("POST", images + "/images", admin, "{\"name\": ").statusCode()).isEqualTo(400);
        assertThat(send("POST", images + "/images", admin, "{\"name\": \"x\", \"min_ram\": -1}").statusCode())
                .isEqualTo(400);
        assertThat(send("GET", images + "/images", null, null).statusCode()).isEqualTo(401);
        assertThat(send("GET", images + "/images", "forged-token", null).statusCode()).isEqualTo(401);
        String id = create(admin, "{\"name\": \"huge\", \"disk_format\": \"raw\"}");
        try (Socket s = new Socket("127.0.0.1", imagePort)) {
            s.getOutputStream().write(("PUT /image/v2/images/" + id + "/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "X-Auth-Token: " + admin + "\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                    + (20 * GIB) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String status = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(status).isEqualTo("HTTP/1.1 413");
        }
        assertThat(json("GET", images + "/images/" + id, admin, null).path("status").asText()).isEqualTo("queued");
        send("DELETE", images + "/images/" + id, admin, null);
    }

    @Test
    void uploadsUnderWayCountAgainstTheQuotaSoTogetherTheyCannotExceedIt() throws Exception {
        String first = create(other, "{\"name\": \"first\", \"disk_format\": \"raw\"}");
        String second = create(other, "{\"name\": \"second\", \"disk_format\": \"raw\"}");
        try (Socket running = new Socket("127.0.0.1", imagePort)) {
            // The first upload announces 1 GiB of the project's 1.5 GiB and is still sending.
            running.getOutputStream().write(uploadHead(other, first, GIB));
            running.getOutputStream().write(new byte[1 << 20]);
            running.getOutputStream().flush();
            awaitStatus(first, "saving");
            // A second 1 GiB upload started meanwhile would exceed the quota together with it.
            try (Socket s = new Socket("127.0.0.1", imagePort)) {
                s.getOutputStream().write(uploadHead(other, second, GIB));
                s.getOutputStream().flush();
                String answer = rawAnswer(s.getInputStream());
                assertThat(answer).startsWith("HTTP/1.1 413").contains("uploads under way")
                        .contains("project quota left " + (GIB / 2));
            }
            assertThat(status(second)).isEqualTo("queued");
            // What is left of the quota still takes a small image.
            Path small = dir.resolve("beside.raw");
            writePattern(small, 1 << 20);
            assertThat(upload(other, second, small).statusCode()).isEqualTo(204);
        }
        // The first upload was cut: its image is queued again and holds nothing of the quota.
        awaitStatus(first, "queued");
        send("DELETE", images + "/images/" + first, other, null);
        send("DELETE", images + "/images/" + second, other, null);
    }

    @Test
    void jsonBodiesAreCappedAndImageDataIsNot() throws Exception {
        // The image service: Glance's 112 KiB.
        HttpResponse<String> big = send("POST", images + "/images", admin, "{\"name\": \"x\", \"pad\": \""
                + "x".repeat(200 << 10) + "\"}");
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(JSON.readTree(big.body()).path("overLimit").path("message").asText()).contains("takes at most 114688");
        HttpResponse<String> under = send("POST", images + "/images", admin, "{\"name\": \"x\", \"pad\": \""
                + "x".repeat(100 << 10) + "\"}");
        assertThat(under.statusCode()).as(under.body()).isNotEqualTo(413);
        // A chunked body says no length: it is cut as it is read.
        HttpResponse<String> chunked = HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images"))
                .header("X-Auth-Token", admin).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
                        ("{\"name\": \"" + "y".repeat(300 << 10) + "\"}").getBytes(StandardCharsets.UTF_8))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(chunked.statusCode()).isEqualTo(413);
        // The scheduler's APIs: 256 KiB, room for a server's 64 KiB of user data and its metadata.
        String tokens = identity + "/auth/tokens";
        HttpResponse<String> login = send("POST", tokens, null, "{\"auth\": {\"identity\": {\"methods\": [\"password\"],"
                + " \"password\": {\"user\": {\"name\": \"admin\", \"password\": \"wrong\"}}}}, \"pad\": \""
                + "x".repeat(200 << 10) + "\"}");
        assertThat(login.statusCode()).as(login.body()).isEqualTo(401);
        HttpResponse<String> huge = send("POST", tokens, null, "{\"pad\": \"" + "x".repeat(300 << 10) + "\"}");
        assertThat(huge.statusCode()).isEqualTo(413);
        assertThat(JSON.readTree(huge.body()).path("error").path("message").asText()).contains("takes at most 262144");
    }

    @Test
    void tenantDataOnDiskIsTheServicesAlone() throws Exception {
        Path small = dir.resolve("private.raw");
        String sha = writePattern(small, 8192);
        String id = create(other, "{\"name\": \"private\", \"disk_format\": \"raw\"}");
        assertThat(upload(other, id, small).statusCode()).isEqualTo(204);
        Map<Path, String> expected = new LinkedHashMap<>();
        expected.put(dir.resolve("images"), "rwx------");
        expected.put(dir.resolve("images/blobs"), "rwx------");
        expected.put(dir.resolve("images/uploads"), "rwx------");
        expected.put(dir.resolve("images/blobs").resolve(sha), "rw-------");
        expected.put(dir.resolve("images/images.mv.db"), "rw-------");
        expected.put(dir.resolve("scheduler"), "rwx------");
        expected.put(dir.resolve("scheduler/scheduler.mv.db"), "rw-------");
        for (Map.Entry<Path, String> e : expected.entrySet()) {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(e.getKey())))
                    .as(e.getKey().toString()).isEqualTo(e.getValue());
        }
        send("DELETE", images + "/images/" + id, other, null);
    }

    @Test
    void aSchedulerWithoutAnAdminPasswordWritesARandomOneForItsUserAlone() throws Exception {
        Path data = dir.resolve("bare-scheduler");
        Path log = Path.of("target", "it-logs", "scheduler-bare.log");
        QuarkusProcess bare = QuarkusProcess.start(Path.of(System.getProperty("stratus.schedulerApp")), 0,
                Map.of("stratus.scheduler.data-dir", data.toString(), "kafka.bootstrap.servers",
                        broker.bootstrapServers(), "stratus.scheduler.replica", "bare"),
                Map.of(), log, Duration.ofMinutes(2), Duration.ofSeconds(10));
        try {
            Path file = data.resolve("admin-password");
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                    .isEqualTo("rw-------");
            String password = Files.readString(file).strip();
            assertThat(password).hasSizeGreaterThanOrEqualTo(24);
            String url = "http://127.0.0.1:" + bare.port() + "/identity/v3";
            HttpResponse<String> old = send("POST", url + "/auth/tokens", null, passwordAuth("admin", "stratus"));
            assertThat(old.statusCode()).as("the old default password").isEqualTo(401);
            HttpResponse<String> r = send("POST", url + "/auth/tokens", null, passwordAuth("admin", password));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            assertThat(Files.readString(log)).contains(file.toAbsolutePath().toString()).doesNotContain(password);
        } finally {
            bare.kill();
        }
    }

    private static String passwordAuth(String user, String password) {
        return "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \""
                + user + "\", \"password\": \"" + password + "\"}}}, \"scope\": {\"project\": {\"name\": \"admin\"}}}}";
    }

    private static byte[] uploadHead(String token, String id, long length) {
        return ("PUT /image/v2/images/" + id + "/file HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: " + token
                + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** An HTTP answer read off a socket: its head and, by its Content-Length, its body. */
    private static String rawAnswer(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        Matcher length = Pattern.compile("(?i)content-length: *([0-9]+)").matcher(head);
        int n = length.find() ? Integer.parseInt(length.group(1)) : 0;
        return head + new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }

    private static long scratchFiles(Path uploads) throws IOException {
        try (Stream<Path> left = Files.list(uploads)) {
            return left.count();
        }
    }

    private String status(String id) throws Exception {
        return json("GET", images + "/images/" + id, admin, null).path("status").asText();
    }

    private JsonNode awaitStatus(String id, String status) throws Exception {
        JsonNode last = null;
        for (int i = 0; i < 100; i++) {
            last = json("GET", images + "/images/" + id, admin, null);
            if (last.path("status").asText().equals(status)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("image " + id + " never became " + status + ": " + last);
    }

    private long metric(String pattern) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + imagePort + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        long max = 0;
        Matcher m = Pattern.compile(pattern).matcher(text);
        long sum = 0;
        while (m.find()) {
            double v = Double.parseDouble(m.group(1));
            sum += v > 0 ? (long) v : 0;
            max++;
        }
        assertThat(max).as("metric " + pattern + " in " + text.length() + " bytes").isPositive();
        return sum;
    }

    private String login(String user, String password, String project) throws Exception {
        HttpResponse<String> r = send("POST", identity + "/auth/tokens", null, "{\"auth\": {\"identity\": {\"methods\":"
                + " [\"password\"], \"password\": {\"user\": {\"name\": \"" + user + "\", \"password\": \"" + password
                + "\"}}}, \"scope\": {\"project\": {\"name\": \"" + project + "\"}}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return r.headers().firstValue("X-Subject-Token").orElseThrow();
    }

    private String create(String token, String body) throws Exception {
        HttpResponse<String> r = send("POST", images + "/images", token, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).path("id").asText();
    }

    private HttpResponse<String> upload(String token, String id, Path file) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(images + "/images/" + id + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode json(String method, String url, String token, String body) throws Exception {
        HttpResponse<String> r = send(method, url, token, body);
        assertThat(r.statusCode()).as(method + " " + url + ": " + r.body()).isLessThan(300);
        return JSON.readTree(r.body());
    }

    private static HttpResponse<String> send(String method, String url, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            b.header("X-Auth-Token", token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A file of {@code size} bytes that is not all zeros (a counter pattern); returns its sha256. */
    private static String writePattern(Path file, long size) throws IOException {
        MessageDigest sha = sha();
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long written = 0; written < size; written += block.length) {
                for (int i = 0; i < block.length; i += 8) {
                    long v = written + i;
                    for (int k = 0; k < 8; k++) {
                        block[i + k] = (byte) (v >>> (8 * k));
                    }
                }
                int n = (int) Math.min(block.length, size - written);
                out.write(block, 0, n);
                sha.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static String digest(InputStream in) throws IOException {
        MessageDigest sha = sha();
        byte[] buffer = new byte[1 << 16];
        try (in) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                sha.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
