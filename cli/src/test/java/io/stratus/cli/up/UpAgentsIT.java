package io.stratus.cli.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.cli.cloud.CloudClient;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code bin/stratus up --agents 2} as an operator runs it to try live migration on one machine:
 * two agents, each in a network namespace of its own, both report to the scheduler; a server
 * live-migrates from one to the other through the Compute API, and {@code bin/stratus host drain}
 * moves it back, disables the drained host and reports a server it cannot move; {@code down} stops
 * everything and removes the namespaces. The guest is the tiny idle test guest, not the kit's Linux.
 * Without /dev/kvm the agents take the qemu driver, which live-migrates too (paused under TCG).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UpAgentsIT {
    private static final Duration WAIT = Duration.ofMinutes(2);

    private final Path root = Path.of(System.getProperty("stratus.root", "..")).toAbsolutePath().normalize();
    private final String one = UpCommand.hostName() + "-1";
    private final String two = UpCommand.hostName() + "-2";
    private Path home;
    private CloudClient admin;

    @BeforeAll
    void up() throws Exception {
        assumeTrue(HostNetwork.available(), "up --agents 2 needs root and iproute2");
        home = Files.createTempDirectory("stratus-up-agents-it-");
        CommandRun r = stratus(Duration.ofMinutes(5), "up", "--detach", "--no-demo", "--agents", "2", "--port",
                Integer.toString(QuarkusProcess.freePort()), "--kafka-port", Integer.toString(QuarkusProcess.freePort()), "--image-port",
                Integer.toString(QuarkusProcess.freePort()), "--vcpus", "2", "--memory-mib", "512");
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output()).contains("Stratus is up").contains(one).contains(two)
                .as("new hosts register disabled; up enables the ones it started")
                .contains("enabled new host '" + one + "'").contains("enabled new host '" + two + "'");
        Map<String, String> rc = new HashMap<>();
        for (String line : Files.readAllLines(home.resolve("openrc"))) {
            if (line.startsWith("export ")) {
                String kv = line.substring("export ".length());
                rc.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            }
        }
        admin = CloudClient.login(rc.get("OS_AUTH_URL"), "admin", rc.get("OS_PASSWORD"), "admin");
    }

    @AfterAll
    void down() throws Exception {
        if (home == null) {
            return;
        }
        CommandRun r = stratus(Duration.ofMinutes(3), "down");
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(home.resolve("up.pid")).doesNotExist();
        assertThat(namespaces()).as("down removes the agents' namespaces")
                .doesNotContain("stratus-" + (UpCommand.NAMESPACE_BASE + 1), "stratus-" + (UpCommand.NAMESPACE_BASE + 2));
        try (Stream<Path> walk = Files.walk(home)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aServerMovesBetweenTheTwoAgentsAndDrainEmptiesAHost() throws Exception {
        Map<String, String> state = new HashMap<>();
        for (JsonNode s : admin.compute("GET", "/os-services", null).path("services")) {
            state.put(s.path("host").asText(), s.path("state").asText());
        }
        assertThat(state).containsEntry(one, "up").containsEntry(two, "up");
        assertThat(service(one).path("status").asText()).isEqualTo("enabled");
        assertThat(service(two).path("status").asText()).isEqualTo("enabled");

        String image = admin.image("POST", "/v2/images", CloudClient.object(Map.of("name", "idle", "disk_format",
                "aki", "container_format", "aki", "visibility", "public"))).path("id").asText();
        admin.upload(image, Path.of(System.getProperty("stratus.testGuests"), "idle.elf"));
        admin.compute("POST", "/flavors", CloudClient.object(Map.of("flavor", Map.of("name", "it.idle", "id",
                "it.idle", "vcpus", 1, "ram", 64, "disk", 0))));
        String id = admin.compute("POST", "/servers", CloudClient.object(Map.of("server", Map.of("name", "mover",
                "flavorRef", "it.idle", "imageRef", image)))).path("server").path("id").asText();
        String source = settled(id).path("OS-EXT-SRV-ATTR:host").asText();
        assertThat(source).isIn(one, two);
        String target = source.equals(one) ? two : one;

        admin.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("os-migrateLive",
                CloudClient.object(Map.of()).putNull("host"))));
        JsonNode moved = settled(id);
        assertThat(moved.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(moved.path("OS-EXT-SRV-ATTR:host").asText()).as("live-migrated to the other agent")
                .isEqualTo(target);

        CommandRun drain = stratus(Duration.ofMinutes(3), "host", "drain", target);
        assertThat(drain.code()).as(drain.output()).isZero();
        assertThat(drain.output()).contains("mover").contains("migrated").contains("1 of 1 servers moved off");
        JsonNode back = settled(id);
        assertThat(back.path("OS-EXT-SRV-ATTR:host").asText()).as("drained back").isEqualTo(source);
        assertThat(service(target).path("status").asText()).isEqualTo("disabled");
        assertThat(service(target).path("disabled_reason").asText()).isEqualTo("draining");

        // A stopped server cannot move live: reported, and the drain fails.
        admin.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("os-stop", Map.of())));
        assertThat(settled(id).path("status").asText()).isEqualTo("SHUTOFF");
        CommandRun skipped = stratus(Duration.ofMinutes(2), "host", "drain", "--json", source);
        assertThat(skipped.code()).as(skipped.output()).isEqualTo(1);
        assertThat(skipped.output()).contains("\"result\" : \"skipped: status SHUTOFF\"");
        assertThat(service(source).path("status").asText()).isEqualTo("disabled");
    }

    /** The server once no task runs on it (and it is not building). */
    private JsonNode settled(String id) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = admin.compute("GET", "/servers/" + id, null).path("server");
            String status = s.path("status").asText();
            if (status.equals("ERROR")) {
                throw new AssertionError("server went to ERROR: " + s.path("fault"));
            }
            if (!status.equals("BUILD") && s.path("OS-EXT-STS:task_state").isNull()) {
                return s;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + id + " did not settle within " + WAIT + ": " + s);
    }

    private JsonNode service(String host) {
        for (JsonNode s : admin.compute("GET", "/os-services", null).path("services")) {
            if (s.path("host").asText().equals(host)) {
                return s;
            }
        }
        throw new AssertionError("no service of host " + host);
    }

    private static String namespaces() throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private CommandRun stratus(Duration limit, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/stratus").toString()));
        cmd.addAll(List.of(args));
        return CommandRun.run(home, cmd, Map.of(), limit);
    }
}
