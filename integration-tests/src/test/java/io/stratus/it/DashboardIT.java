package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * The serial console and the web dashboard on a real cloud: one qemu-driver agent in the root
 * namespace, servers without networks whose kit guest keeps a shell on its serial console
 * ({@code stratus.run=/bin/sh}). First Debian's {@code openstack console url show --serial} and a
 * WebSocket client talking to the guest's shell; then the dashboard in headless Chromium
 * ({@code dashboard/test/browser.mjs}, playwright-core), which also writes the README's screenshots.
 * The first test's server stays up for the second: the browser's drain of the host finds it there
 * and shows its live migration refused (one host: no other to go to).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ResourceLock(LocalCloud.ROOT_NAMESPACE_AGENTS)
class DashboardIT {
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final String HOST = "dash-one";
    private static final String IMAGE = "shell";
    private static final String FLAVOR = "d1";
    /** What the browser test resizes its stopped server to: one disk size, so the resize copies nothing. */
    private static final String FLAVOR2 = "d2";
    private static final Path DASHBOARD = Path.of("..", "dashboard").toAbsolutePath().normalize();
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    private LocalCloud cloud;
    /** Debian's Prometheus scraping the agent, where it is installed: the charts then come from it. */
    private Process prometheus;
    private String prometheusUrl = "";
    private Api dana;
    private final List<String> servers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        boolean withPrometheus = onPath("prometheus");
        if (withPrometheus) {
            prometheusUrl = "http://127.0.0.1:" + QuarkusProcess.freePort();
        } else {
            System.out.println("DashboardIT: no prometheus on the PATH (apt-get install prometheus): the charts"
                    + " page is tested on the control plane's figures");
        }
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-dashboard-it-"), "dashboard", withPrometheus
                ? Map.of("stratus.dashboard.prometheus-url", prometheusUrl) : Map.of());
        QuarkusProcess agent = cloud.agent(HOST, cloud.imageUrl, 2048, Map.of("stratus.agent.driver", "qemu"));
        cloud.awaitHostsUp(HOST);
        if (withPrometheus) {
            startPrometheus(agent.host() + ":" + agent.port());
        }
        Api images = cloud.admin.at(cloud.imageBase());
        String kernel = upload(images, Map.of("name", "dash-kernel", "disk_format", "aki", "container_format", "aki"),
                GuestKit.file("test-kernel/vmlinux"));
        String ramdisk = upload(images, Map.of("name", "dash-initramfs", "disk_format", "ari", "container_format",
                "ari"), GuestKit.file("initramfs.cpio"));
        // The kit's init runs what stratus.run names: a shell on the serial console, which keeps
        // the guest up and answers what is typed.
        upload(images, Map.of("name", IMAGE, "disk_format", "raw", "container_format", "bare", "kernel_id", kernel,
                "ramdisk_id", ramdisk, "os_command_line", "panic=-1 stratus.run=/bin/sh"), GuestKit.file("disk.img"));
        cloud.admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", FLAVOR, "id", FLAVOR,
                "vcpus", 1, "ram", 128, "disk", 1)));
        cloud.admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", FLAVOR2, "id", FLAVOR2,
                "vcpus", 1, "ram", 192, "disk", 1)));
        dana = cloud.tenant("dash", "dana", "dana-secret", "member");
    }

    /** Prometheus scraping the agent every second, as PrometheusIT starts it. */
    private void startPrometheus(String agent) throws Exception {
        Path dir = Files.createDirectories(cloud.dir.resolve("prometheus"));
        // honor_labels: the agent's series carry their own `instance` label (the guest's id).
        Files.writeString(dir.resolve("prometheus.yml"), String.join("\n", "global:", "  scrape_interval: 1s",
                "scrape_configs:", "  - job_name: stratus-agent", "    metrics_path: /metrics",
                "    honor_labels: true", "    static_configs:", "      - targets: ['" + agent + "']", ""));
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=" + prometheusUrl.substring("http://".length()))
                .redirectErrorStream(true).redirectOutput(cloud.logs.resolve("dashboard-prometheus.log").toFile())
                .start();
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            assertThat(prometheus.isAlive()).as("prometheus runs (see target/it-logs/dashboard-prometheus.log)")
                    .isTrue();
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(prometheusUrl + "/-/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            assertThat(System.nanoTime()).as("prometheus ready in time").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly().waitFor();
            }
        }
        if (cloud == null) {
            return;
        }
        for (String s : servers) {
            cloud.admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        for (String s : servers) {
            cloud.admin.awaitGone(s, WAIT);
        }
        cloud.close();
    }

    @Test
    @Order(1)
    void theOpenstackClientsSerialConsoleUrlTalksToTheGuestOnce() throws Exception {
        String id = dana.ok("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "cli-console",
                "flavorRef", FLAVOR, "imageRef", imageId()))).path("server").path("id").asText();
        servers.add(id);
        dana.awaitServer(id, "ACTIVE", WAIT);
        String out = cloud.openstackAs("dana", "dana-secret", "dash", "console", "url", "show", "--serial", "-f",
                "json", id);
        String url = Api.JSON.readTree(out).path("url").asText();
        assertThat(url).startsWith(cloud.url.replace("http://", "ws://") + "/serial-console/?token=");

        Console console = Console.open(url);
        try {
            console.await("STRATUS-RUN-BEGIN /bin/sh");
            // The shell computes the answer: the echo of what was typed does not contain it.
            console.type("echo STRATUS-$((6*7))\n");
            console.await("STRATUS-42");
        } finally {
            console.close();
        }
        // One connection per token, as Nova's console tokens.
        assertThat(Console.refusal(url)).startsWith("401 ").contains("used or expired");
        // Only the serial console exists here; the legacy action answers the same way.
        JsonNode legacy = dana.ok("POST", "/compute/v2.1/servers/" + id + "/action",
                Map.of("os-getSerialConsole", Map.of("type", "serial")));
        assertThat(legacy.path("console").path("url").asText()).contains("/serial-console/?token=");
        Api.Reply vnc = dana.atMicroversion("2.6").call("POST", "/compute/v2.1/servers/" + id + "/remote-consoles",
                Map.of("remote_console", Map.of("protocol", "vnc", "type", "novnc")));
        assertThat(vnc.status()).isEqualTo(400);
        assertThat(dana.call("POST", "/compute/v2.1/servers/" + id + "/remote-consoles", Map.of("remote_console",
                Map.of("protocol", "serial", "type", "serial"))).status()).as("before microversion 2.6").isEqualTo(404);
    }

    @Test
    @Order(2)
    void theDashboardInHeadlessChromium() throws Exception {
        assumeTrue(onPath("node"), "the browser test needs Node (and npm: apt-get install npm)");
        assumeTrue(Files.isExecutable(CHROMIUM), "the browser test needs Debian's chromium (apt-get install chromium)");
        assumeTrue(Files.isDirectory(DASHBOARD.resolve("node_modules/playwright-core")), "the browser test needs"
                + " the dashboard's npm packages (the dashboard module's build installs them; npm was missing?)");
        assumeTrue(Files.isRegularFile(DASHBOARD.resolve("target/classes/META-INF/resources/dashboard/index.html")),
                "the dashboard was not built (npm missing when the dashboard module was built)");
        Path upload = Files.write(cloud.dir.resolve("upload.img"), new byte[3 << 20]);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DASH_URL", cloud.url + "/dashboard/");
        env.put("CHROMIUM", CHROMIUM.toString());
        env.put("MEMBER", "dana:dana-secret:dash");
        env.put("ADMIN", "admin:" + LocalCloud.ADMIN_PASSWORD + ":admin");
        env.put("IMAGE", IMAGE);
        env.put("FLAVOR", FLAVOR);
        env.put("FLAVOR2", FLAVOR2);
        env.put("PROMETHEUS", prometheusUrl);
        env.put("HOST", HOST);
        env.put("UPLOAD_FILE", upload.toString());
        // The README's pictures change only when asked (-Dstratus.dashboard.screenshots=readme): a
        // test run leaves the sources as they were.
        Path shots = "readme".equals(System.getProperty("stratus.dashboard.screenshots"))
                ? DASHBOARD.resolve("docs/images") : Files.createDirectories(Path.of("target", "dashboard-screenshots"));
        env.put("SHOTS", shots.toAbsolutePath().toString());
        ProcessBuilder b = new ProcessBuilder("node", "test/browser.mjs").directory(DASHBOARD.toFile())
                .redirectErrorStream(true);
        b.environment().putAll(env);
        Process p = b.start();
        StringBuilder log = new StringBuilder();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                System.out.println("[browser] " + line);
                log.append(line).append('\n');
            }
        }
        assertThat(p.waitFor()).as("the browser test's steps:\n%s", log).isZero();
        assertThat(log).contains("PASS");
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    private String imageId() {
        return cloud.admin.at(cloud.imageBase()).ok("GET", "/image/v2/images?name=" + IMAGE, null).path("images")
                .path(0).path("id").asText();
    }

    private static String upload(Api images, Map<String, Object> fields, Path file) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>(fields);
        body.put("visibility", "public");
        String id = images.ok("POST", "/image/v2/images", body).path("id").asText();
        assertThat(images.upload(id, file).status()).isEqualTo(204);
        return id;
    }

    /** A WebSocket client on a serial console URL: what the guest wrote, and keystrokes to it. */
    private static final class Console implements WebSocket.Listener {
        private final StringBuffer seen = new StringBuffer();
        private WebSocket socket;

        static Console open(String url) throws Exception {
            Console c = new Console();
            c.socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(url), c).get(20, TimeUnit.SECONDS);
            return c;
        }

        /** The HTTP status and body that refuse a connection to {@code url}. */
        static String refusal(String url) throws Exception {
            try {
                open(url).close();
                return "connected";
            } catch (ExecutionException e) {
                if (e.getCause() instanceof WebSocketHandshakeException refused) {
                    return refused.getResponse().statusCode() + " " + refused.getResponse().body();
                }
                return String.valueOf(e.getCause());
            }
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            seen.append(new String(b, StandardCharsets.ISO_8859_1));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            seen.append(data);
            ws.request(1);
            return null;
        }

        void type(String text) throws Exception {
            socket.sendBinary(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), true).get(10, TimeUnit.SECONDS);
        }

        void await(String text) throws InterruptedException {
            long end = System.nanoTime() + WAIT.toNanos();
            while (seen.indexOf(text) < 0) {
                assertThat(System.nanoTime()).as("'%s' on the console; it shows:\n%s", text, seen).isLessThan(end);
                Thread.sleep(200);
            }
        }

        void close() {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(5, TimeUnit.SECONDS)
                    .exceptionally(t -> null).join();
        }
    }
}
