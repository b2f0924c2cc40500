package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The services as deployed, each its own process from its packaged application (scheduler for
 * Identity and Compute, image service, agents) and the embedded Kafka broker in this JVM, for the
 * benchmarks that go through the whole stack; with the admin's token and a small JSON client.
 */
public final class BenchCloud implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String PASSWORD = "bench-admin";
    private static final String AGENT_PASSWORD = "bench-agent";
    private static final Duration START = Duration.ofMinutes(2);

    /** The built services. */
    public record Apps(Path scheduler, Path imageService, Path agent) {
        /** The packaged applications of the checkout at {@code home}. */
        public static Apps in(Path home) {
            return new Apps(home.resolve("scheduler/target/quarkus-app/quarkus-run.jar"),
                    home.resolve("image-service/target/quarkus-app/quarkus-run.jar"),
                    home.resolve("agent/target/quarkus-app/quarkus-run.jar"));
        }

        public List<Path> all() {
            return List.of(scheduler, imageService, agent);
        }
    }

    final String url;
    final String imageUrl;
    final String token;
    private final EmbeddedKafkaBroker broker;
    private final List<QuarkusProcess> processes;

    private BenchCloud(String url, String imageUrl, String token, EmbeddedKafkaBroker broker,
                       List<QuarkusProcess> processes) {
        this.url = url;
        this.imageUrl = imageUrl;
        this.token = token;
        this.broker = broker;
        this.processes = processes;
    }

    /**
     * Starts the broker, scheduler, image service and one agent per entry of {@code agents}
     * (host name → capacity settings), and waits until every agent reported.
     */
    static BenchCloud start(Apps apps, Path work, Map<String, Map<String, String>> agents) throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(
                work.resolve("kafka")));
        List<QuarkusProcess> processes = new ArrayList<>();
        try {
            int imagePort = QuarkusProcess.freePort();
            String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
            QuarkusProcess scheduler = QuarkusProcess.start(apps.scheduler(), 0, Map.of(
                            "stratus.scheduler.data-dir", work.resolve("scheduler").toString(),
                            "stratus.scheduler.image-url", imageUrl, "kafka.bootstrap.servers", broker.bootstrapServers()),
                    Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", PASSWORD), work.resolve("scheduler.log"), START,
                    Duration.ofSeconds(5));
            processes.add(scheduler);
            String url = "http://127.0.0.1:" + scheduler.port();
            processes.add(QuarkusProcess.start(apps.imageService(), imagePort, Map.of(
                            "stratus.image.data-dir", work.resolve("images").toString(),
                            "stratus.image.identity-url", url + "/identity/v3"), work.resolve("image-service.log"),
                    START, Duration.ofSeconds(5)));
            BenchCloud cloud = new BenchCloud(url, imageUrl, login(url, "admin", PASSWORD, "admin"), broker, processes);
            String service = cloud.call("POST", url + "/identity/v3/projects", "{\"project\": {\"name\": \"service\"}}")
                    .path("project").path("id").asText();
            String user = cloud.call("POST", url + "/identity/v3/users", "{\"user\": {\"name\": \"stratus-agent\","
                    + " \"password\": \"" + AGENT_PASSWORD + "\", \"default_project_id\": \"" + service + "\"}}")
                    .path("user").path("id").asText();
            cloud.call("PUT", url + "/identity/v3/projects/" + service + "/users/" + user + "/roles/service", null);
            for (Map.Entry<String, Map<String, String>> a : agents.entrySet()) {
                Map<String, String> s = new LinkedHashMap<>();
                s.put("stratus.agent.host", a.getKey());
                s.put("stratus.agent.data-dir", work.resolve("agent-" + a.getKey()).toString());
                s.put("stratus.agent.image-service.url", imageUrl);
                s.put("stratus.agent.image-service.identity-url", url + "/identity/v3");
                s.put("stratus.agent.report-interval", "1s");
                s.put("kafka.bootstrap.servers", broker.bootstrapServers());
                s.putAll(a.getValue());
                processes.add(QuarkusProcess.start(apps.agent(), 0, s, Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD",
                        AGENT_PASSWORD), work.resolve("agent-" + a.getKey() + ".log"), START, Duration.ofSeconds(5)));
            }
            cloud.awaitHosts(agents.size());
            return cloud;
        } catch (Exception e) {
            for (QuarkusProcess p : processes) {
                p.kill();
            }
            broker.close();
            throw e;
        }
    }

    private void awaitHosts(int count) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (JsonNode s : call("GET", url + "/compute/v2.1/os-services", null).path("services")) {
                up += s.path("state").asText().equals("up") ? 1 : 0;
            }
            if (up >= count) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agents did not all report to the scheduler within " + START);
    }

    /** An image with {@code fields} (JSON members) and the data of {@code file}; its id. */
    String image(String fields, Path file) throws Exception {
        String id = call("POST", imageUrl + "/v2/images", "{" + fields + "}").path("id").asText();
        int status = HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/" + id + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
        if (status != 204) {
            throw new IllegalStateException("upload of " + file + " answered HTTP " + status);
        }
        return id;
    }

    /** A request with the admin's token; its status and body, whatever the status. */
    HttpResponse<String> send(String method, String target, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target)).header("X-Auth-Token", token)
                .timeout(Duration.ofMinutes(1));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request that must succeed; its JSON body. */
    JsonNode call(String method, String target, String body) throws Exception {
        HttpResponse<String> r = send(method, target, body);
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(method + " " + target + " answered HTTP " + r.statusCode() + ": " + r.body());
        }
        return json(r);
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return r.body() == null || r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
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

    @Override
    public void close() throws Exception {
        for (QuarkusProcess p : processes) {
            p.kill();
        }
        broker.close();
    }
}
