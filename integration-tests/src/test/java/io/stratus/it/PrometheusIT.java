package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.local.QuarkusProcess;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A real Prometheus server (Debian's package) scrapes every component of a running cloud —
 * scheduler, image service, two agents — and PromQL finds each guest's CPU series.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusIT {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private LocalCloud cloud;
    private Process prometheus;
    private String prometheusUrl;
    private String scheduler;
    private String images;
    private String agentOne;
    private String agentTwo;

    @BeforeAll
    void start() throws Exception {
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-prometheus-it-"), "prometheus", Map.of(), true);
        // Two hosts: each agent in a network namespace of its own, scraped at its own address.
        QuarkusProcess one = cloud.agentIn(11, "p-one", 1024, Map.of());
        QuarkusProcess two = cloud.agentIn(12, "p-two", 1024, Map.of());
        cloud.awaitHostsUp("p-one", "p-two");
        scheduler = cloud.url.substring("http://".length());
        images = cloud.imageBase().substring("http://".length());
        agentOne = one.host() + ":" + one.port();
        agentTwo = two.host() + ":" + two.port();
        int port = QuarkusProcess.freePort();
        Path dir = Files.createDirectories(cloud.dir.resolve("prometheus"));
        // honor_labels: the agents' series carry their own `instance` label (the guest's id).
        Files.writeString(dir.resolve("prometheus.yml"), String.join("\n",
                "global:", "  scrape_interval: 1s", "scrape_configs:",
                job("stratus-scheduler", List.of(scheduler)), job("stratus-image-service", List.of(images)),
                job("stratus-agent", List.of(agentOne, agentTwo)), ""));
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(cloud.logs.resolve("prometheus.log").toFile()).start();
        prometheusUrl = "http://127.0.0.1:" + port;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!ready() && System.nanoTime() < deadline) {
            assertThat(prometheus.isAlive()).as("prometheus runs (see target/it-logs/prometheus.log)").isTrue();
            Thread.sleep(200);
        }
        assertThat(ready()).as("prometheus became ready").isTrue();
    }

    private static String job(String name, List<String> targets) {
        return "  - job_name: " + name + "\n    metrics_path: /metrics\n    honor_labels: true\n"
                + "    static_configs:\n      - targets: ['" + String.join("', '", targets) + "']";
    }

    private boolean ready() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(prometheusUrl + "/-/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (Exception e) {
            return false;
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
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void everyComponentIsScrapedAndEachGuestHasItsCpuSeries() throws Exception {
        Api admin = cloud.admin;
        Api images = admin.at(cloud.imageBase());
        String kernel = images.ok("POST", "/image/v2/images", Map.of("name", "tiny", "disk_format", "aki",
                "container_format", "aki", "visibility", "public", "os_command_line", "stratus.idle"))
                .path("id").asText();
        assertThat(images.upload(kernel, Path.of(System.getProperty("stratus.testGuests"), "instance.elf")).status())
                .isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "p1", "id", "p1", "vcpus", 1,
                "ram", 32, "disk", 0)));
        Set<String> servers = new HashSet<>();
        for (String name : List.of("watched-1", "watched-2")) {
            servers.add(admin.ok("POST", "/compute/v2.1/servers", Api.server(name, "p1", kernel)).path("server")
                    .path("id").asText());
        }
        for (String id : servers) {
            admin.awaitServer(id, "ACTIVE", WAIT);
        }

        Set<String> jobsUp = new HashSet<>();
        Set<String> withCpu = new HashSet<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while ((jobsUp.size() < 4 || !withCpu.containsAll(servers)) && System.nanoTime() < deadline) {
            jobsUp.clear();
            for (JsonNode r : query("up == 1")) {
                jobsUp.add(r.path("metric").path("instance").asText());
            }
            withCpu.clear();
            for (JsonNode r : query("rate(stratus_instance_cpu_seconds_total[10s]) >= 0")) {
                withCpu.add(r.path("metric").path("instance").asText());
            }
            Thread.sleep(1000);
        }
        assertThat(jobsUp).as("targets up").containsExactlyInAnyOrder(scheduler, this.images, agentOne, agentTwo);
        assertThat(withCpu).as("a CPU series per guest").containsAll(servers);
        assertThat(query("stratus_scheduler_placements_total")).as("the scheduler's placements").isNotEmpty();
        assertThat(query("stratus_agent_image_downloads_total")).as("the agents' image caches").hasSize(2);

        for (String id : servers) {
            admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        }
        for (String id : servers) {
            admin.awaitGone(id, WAIT);
        }
    }

    private JsonNode query(String promql) throws Exception {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create(prometheusUrl + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString()).body();
        JsonNode r = Api.JSON.readTree(body);
        assertThat(r.path("status").asText()).as(promql + ": " + body).isEqualTo("success");
        return r.path("data").path("result");
    }
}
