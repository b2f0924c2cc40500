package io.stratus.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.stratus.local.QuarkusProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service-user hook's script, exactly as the chart renders it, run with {@code sh} against
 * the packaged scheduler's Identity API: the agents' user ends up with the service role and a
 * password that works — including passwords with quotes and backslashes, as an existing Secret
 * may hold — and running it again (an upgrade) changes nothing.
 */
class ServiceUserHookTest {
    private static final String ADMIN = "adm\"in\\pw";
    private static final String AGENT = "ag\"ent\\pw";

    @TempDir
    Path dir;

    @Test
    void theHookMakesTheAgentsUserAndRunsAgainOnUpgrade() throws Exception {
        Job job = RenderedChart.renderWithHooks().one(Job.class, RenderedChart.name("service-user"));
        Container c = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(c.getCommand()).containsExactly("/bin/sh", "-ec");
        String script = c.getArgs().get(0);
        QuarkusProcess scheduler = QuarkusProcess.start(Path.of(System.getProperty("stratus.schedulerApp")), 0,
                Map.of("stratus.scheduler.data-dir", dir.resolve("scheduler").toString(),
                        "kafka.bootstrap.servers", "127.0.0.1:1"),
                Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", ADMIN), dir.resolve("scheduler.log"),
                Duration.ofMinutes(2), Duration.ofSeconds(5));
        try {
            String identity = "http://127.0.0.1:" + scheduler.port() + "/identity/v3";
            for (int run = 0; run < 2; run++) {
                ProcessBuilder b = new ProcessBuilder("/bin/sh", "-ec", script).redirectErrorStream(true);
                b.environment().putAll(Map.of("IDENTITY_URL", identity, "ADMIN_PASSWORD", ADMIN, "SERVICE_USER",
                        "stratus-agent", "SERVICE_PROJECT", "service", "SERVICE_PASSWORD", AGENT));
                Process p = b.start();
                String out = new String(p.getInputStream().readAllBytes());
                assertThat(p.waitFor()).as("run " + run + ": " + out).isZero();
                assertThat(out).contains("service user stratus-agent has role service in project service");
            }
            HttpResponse<String> login = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    identity + "/auth/tokens")).header("Content-Type", "application/json").POST(
                    HttpRequest.BodyPublishers.ofString("{\"auth\": {\"identity\": {\"methods\": [\"password\"],"
                            + " \"password\": {\"user\": {\"name\": \"stratus-agent\", \"domain\": {\"id\": \"default\"},"
                            + " \"password\": \"ag\\\"ent\\\\pw\"}}}, \"scope\": {\"project\": {\"name\": \"service\","
                            + " \"domain\": {\"id\": \"default\"}}}}}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(login.statusCode()).as(login.body()).isEqualTo(201);
            assertThat(login.body()).contains("\"name\":\"service\"");
        } finally {
            scheduler.kill();
        }
    }
}
