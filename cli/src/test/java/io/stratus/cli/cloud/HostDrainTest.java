package io.stratus.cli.cloud;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.stratus.cli.StratusCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code host drain} against a scripted Compute API: which servers it asks to move, how it waits,
 * and what it reports. The real migrations are UpAgentsIT's.
 */
class HostDrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer api;
    private String base;
    private Path rc;
    /** Requests as "METHOD path", in order. */
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    /** Per server: the answers its GET gives, the last one repeated. */
    private final Map<String, List<Map<String, Object>>> shows = new ConcurrentHashMap<>();
    private final Map<String, Integer> shown = new ConcurrentHashMap<>();
    private List<Map<String, Object>> listed = List.of();

    @BeforeEach
    void start(@TempDir Path dir) throws IOException {
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        base = "http://127.0.0.1:" + api.getAddress().getPort();
        api.createContext("/", this::answer);
        api.start();
        rc = dir.resolve("openrc");
        Files.writeString(rc, String.join("\n", "export OS_AUTH_URL=" + base + "/identity/v3",
                "export OS_USERNAME=admin", "export OS_PASSWORD=secret", "export OS_PROJECT_NAME=admin", ""));
    }

    @AfterEach
    void stop() {
        api.stop(0);
    }

    private void answer(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String query = x.getRequestURI().getRawQuery();
        requests.add(x.getRequestMethod() + " " + path + (query == null ? "" : "?" + query));
        bodies.add(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        Object body;
        int status = 200;
        if (path.equals("/identity/v3/auth/tokens")) {
            x.getResponseHeaders().add("X-Subject-Token", "t");
            status = 201;
            body = Map.of("token", Map.of("catalog", List.of(
                    Map.of("type", "compute", "endpoints", List.of(Map.of("interface", "public", "url",
                            base + "/compute/v2.1"))),
                    Map.of("type", "image", "endpoints", List.of(Map.of("interface", "public", "url",
                            base + "/image"))))));
        } else if (path.equals("/compute/v2.1/os-services")) {
            body = Map.of("services", List.of(Map.of("host", "h1"), Map.of("host", "h2")));
        } else if (path.startsWith("/compute/v2.1/os-services/")) {
            body = Map.of("service", Map.of());
        } else if (path.equals("/compute/v2.1/servers/detail")) {
            body = Map.of("servers", listed);
        } else if (path.endsWith("/action")) {
            status = 202;
            body = Map.of();
        } else if (path.startsWith("/compute/v2.1/servers/")) {
            String id = path.substring(path.lastIndexOf('/') + 1);
            List<Map<String, Object>> script = shows.get(id);
            int n = shown.merge(id, 1, Integer::sum);
            body = Map.of("server", script.get(Math.min(n, script.size()) - 1));
        } else {
            status = 404;
            body = Map.of("itemNotFound", Map.of("message", path));
        }
        byte[] out = JSON.writeValueAsBytes(body);
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.sendResponseHeaders(status, out.length);
        x.getResponseBody().write(out);
        x.close();
    }

    private static Map<String, Object> server(String id, String status, String host, String task) {
        Map<String, Object> s = new java.util.HashMap<>();
        s.put("id", id);
        s.put("name", "vm-" + id);
        s.put("status", status);
        s.put("OS-EXT-SRV-ATTR:host", host);
        s.put("OS-EXT-STS:task_state", task);
        return s;
    }

    private record Run(int code, String out, String err) {
    }

    private Run drain(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new java.util.ArrayList<>(List.of("host", "drain", "--os-cloud-rc", rc.toString()));
        all.addAll(List.of(args));
        int code = StratusCli.run(new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void disablesTheHostMovesItsActiveServersAndReportsTheRest() throws Exception {
        listed = List.of(server("a", "ACTIVE", "h1", null), server("b", "SHUTOFF", "h1", null),
                server("c", "ACTIVE", "h1", null), server("elsewhere", "ACTIVE", "h2", null));
        shows.put("a", List.of(server("a", "MIGRATING", "h1", "migrating"), server("a", "ACTIVE", "h2", null)));
        shows.put("c", List.of(server("c", "MIGRATING", "h1", "migrating"), server("c", "ACTIVE", "h1", null)));

        Run r = drain("--json", "h1");

        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(requests).contains("PUT /compute/v2.1/os-services/disable-log-reason",
                "GET /compute/v2.1/servers/detail?all_tenants=1&host=h1");
        assertThat(bodies.get(requests.indexOf("PUT /compute/v2.1/os-services/disable-log-reason")))
                .contains("\"disabled_reason\":\"draining\"").contains("\"host\":\"h1\"");
        int disabled = requests.indexOf("PUT /compute/v2.1/os-services/disable-log-reason");
        assertThat(requests.indexOf("POST /compute/v2.1/servers/a/action")).as("disabled before any move")
                .isGreaterThan(disabled);
        assertThat(bodies.get(requests.indexOf("POST /compute/v2.1/servers/a/action")))
                .isEqualTo("{\"os-migrateLive\":{\"host\":null}}");
        assertThat(requests).as("a stopped server and one on another host are left alone")
                .doesNotContain("POST /compute/v2.1/servers/b/action", "POST /compute/v2.1/servers/elsewhere/action");
        JsonNode rows = JSON.readTree(r.out());
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0).path("to").asText()).isEqualTo("h2");
        assertThat(rows.get(0).path("result").asText()).isEqualTo("migrated");
        assertThat(rows.get(1).path("result").asText()).isEqualTo("skipped: status SHUTOFF");
        assertThat(rows.get(1).path("to").isNull()).isTrue();
        assertThat(rows.get(2).path("result").asText()).startsWith("failed: still ACTIVE on h1");
    }

    @Test
    void printsATableAndSucceedsWhenEveryServerMoved() {
        listed = List.of(server("a", "ACTIVE", "h1", null), server("b", "ACTIVE", "h1", null));
        shows.put("a", List.of(server("a", "ACTIVE", "h2", null)));
        shows.put("b", List.of(server("b", "MIGRATING", "h1", "migrating"), server("b", "ACTIVE", "h2", null)));

        Run r = drain("--parallel", "2", "--reason", "kernel update", "h1");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("2 of 2 servers moved off h1").containsPattern("Server +ID +From +To +Result")
                .containsPattern("vm-a +a +h1 +h2 +migrated").containsPattern("vm-b +b +h1 +h2 +migrated");
        assertThat(bodies).anyMatch(b -> b.contains("\"disabled_reason\":\"kernel update\""));
    }

    @Test
    void givesUpOnAServerAfterTheTimeout() {
        listed = List.of(server("a", "ACTIVE", "h1", null));
        shows.put("a", List.of(server("a", "MIGRATING", "h1", "migrating")));

        Run r = drain("--timeout", "2s", "h1");

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("failed: not done within 2s (status MIGRATING, task migrating)");
    }

    @Test
    void refusesAHostTheCloudDoesNotKnow() {
        Run r = drain("h9");
        assertThat(r.code()).isEqualTo(StratusCli.EXIT_USAGE);
        assertThat(r.err()).contains("no host h9");
        assertThat(requests).noneMatch(q -> q.startsWith("PUT"));
    }

    @Test
    void readsTimesInTheUsualUnits() {
        HostDrain.TimeArgument t = new HostDrain.TimeArgument();
        assertThat(t.convert("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(t.convert("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(t.convert("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(t.convert("45")).isEqualTo(Duration.ofSeconds(45));
        assertThat(t.convert("PT2M")).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> t.convert("soon")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> t.convert("0s")).isInstanceOf(CommandLine.TypeConversionException.class);
    }
}
