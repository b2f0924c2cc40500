package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A host dies and its servers come back: two agents in network namespaces of their own (two
 * hosts), one SIGKILLed together with its guests' QEMU processes, as a dead machine would be.
 * Once it has sent no report for host-failed-after and its agent does not answer, its HA server
 * (metadata ha:enabled=true) runs on the other host with the same port and address, by itself;
 * its other server waits in ERROR saying the host is down, until an admin evacuates it. When the
 * dead host's agent comes back it deletes its copies before it would start them (fencing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvacuateIT {
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final String ONE = "e-one";
    private static final String TWO = "e-two";

    private LocalCloud cloud;
    private Api admin;
    private QuarkusProcess one;
    private String network;
    private String image;
    private final List<String> servers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "hosts in network namespaces need root and iproute2");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-evacuate-it-"), "evacuate", Map.of(
                "stratus.scheduler.host-down-after", "PT4S", "stratus.scheduler.host-failed-after", "PT6S",
                "stratus.scheduler.sweep-interval", "1s", "stratus.scheduler.task-timeout", "PT120S"), true);
        admin = cloud.admin;
        one = cloud.agentIn(41, ONE, 1024, Map.of("stratus.agent.driver", "qemu"));
        cloud.agentIn(42, TWO, 1024, Map.of("stratus.agent.driver", "qemu"));
        cloud.awaitHostsUp(ONE, TWO);
        Api images = admin.at(cloud.imageBase());
        image = images.ok("POST", "/image/v2/images", Map.of("name", "idle", "disk_format", "aki",
                "container_format", "aki", "visibility", "public")).path("id").asText();
        assertThat(images.upload(image, Path.of(System.getProperty("stratus.testGuests"), "idle.elf")).status())
                .isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "e1", "id", "e1", "vcpus", 1,
                "ram", 64, "disk", 0)));
        cloud.openstack("network", "create", "net-e");
        cloud.openstack("subnet", "create", "--network", "net-e", "--subnet-range", "10.72.0.0/24", "sub-e");
        network = cloud.openstack("network", "show", "net-e", "-f", "value", "-c", "id").strip();
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud == null) {
            return;
        }
        for (String s : servers) {
            admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        cloud.close();
    }

    private String bootOnOne(String name, Map<String, String> metadata) {
        admin.switchHost(TWO, false);
        try {
            String id = admin.ok("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef",
                    "e1", "imageRef", image, "networks", List.of(Map.of("uuid", network)), "metadata", metadata)))
                    .path("server").path("id").asText();
            servers.add(id);
            assertThat(admin.awaitServer(id, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(ONE);
            return id;
        } finally {
            admin.switchHost(TWO, true);
        }
    }

    @Test
    void theHaServerOfAKilledHostRunsOnTheOtherWithItsAddressAndTheOtherWaitsForAnAdmin() throws Exception {
        String ha = bootOnOne("ha-1", Map.of("ha:enabled", "true"));
        String plain = bootOnOne("plain-1", Map.of());
        JsonNode before = admin.ok("GET", "/compute/v2.1/servers/" + ha, null).path("server").path("addresses");
        assertThat(before.path("net-e").path(0).path("addr").asText()).startsWith("10.72.0.");

        // The host dies: its agent and its guests' QEMU processes, at once.
        long killedAt = System.nanoTime();
        one.kill();
        killGuests(ha, plain);

        JsonNode moved = awaitOn(ha, TWO, "ACTIVE");
        long seconds = Duration.ofNanos(System.nanoTime() - killedAt).toSeconds();
        System.out.printf("EvacuateIT: host death to HA server ACTIVE on %s: %d s (host-failed-after 6 s,"
                + " sweep 1 s, qemu TCG boot)%n", moved.path("OS-EXT-SRV-ATTR:host").asText(), seconds);
        Files.writeString(Files.createDirectories(Path.of("target", "it-logs")).resolve("evacuate-time.txt"),
                seconds + " s from SIGKILL to ACTIVE on " + TWO + "\n");
        assertThat(moved.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(TWO);
        assertThat(moved.path("addresses")).as("same port, same address").isEqualTo(before);

        JsonNode waiting = admin.awaitServer(plain, "ERROR", WAIT);
        assertThat(waiting.path("fault").path("message").asText()).contains("host " + ONE + " is down")
                .contains("evacuate");
        assertThat(admin.call("POST", "/compute/v2.1/servers/" + plain + "/action", Map.of("evacuate", Map.of()))
                .status()).isEqualTo(200);
        assertThat(awaitOn(plain, TWO, "ACTIVE").path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(TWO);
        assertThat(admin.ok("GET", "/compute/v2.1/servers/" + plain + "/os-instance-actions", null)
                .path("instanceActions").toString()).contains("\"evacuate\"");

        // The dead host comes back (same name, same data): it deletes its copies before anything runs.
        one = cloud.agentIn(41, ONE, 1024, Map.of("stratus.agent.driver", "qemu"));
        cloud.awaitHostsUp(ONE, TWO);
        assertThat(Files.readString(one.log())).contains("2 delete(s) applied before recovery");
        for (String id : List.of(ha, plain)) {
            assertThat(qemuOf(id)).as("one guest of %s, on %s", id, TWO).hasSize(1);
            assertThat(awaitOn(id, TWO, "ACTIVE").path("addresses").isEmpty()).isFalse();
        }
    }

    private static List<ProcessHandle> qemuOf(String id) {
        return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("qemu-system-x86_64"))
                .orElse(false)).filter(p -> p.info().arguments().map(a -> Arrays.asList(a).contains(id))
                .orElse(false)).toList();
    }

    /** The server once it is in {@code status} on {@code host}. */
    private JsonNode awaitOn(String id, String host, String status) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            JsonNode s = admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
            if (s.path("status").asText().equals(status) && s.path("OS-EXT-SRV-ATTR:host").asText().equals(host)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("server " + id + " is not " + status + " on " + host + " after " + WAIT + ": "
                        + s);
            }
            Thread.sleep(250);
        }
    }

    /** The QEMU processes of these servers (each is named by its instance id). */
    private static void killGuests(String... ids) {
        ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("qemu-system-x86_64"))
                .orElse(false)).filter(p -> p.info().arguments().map(a -> Arrays.stream(a)
                .anyMatch(x -> Arrays.asList(ids).contains(x))).orElse(false)).forEach(ProcessHandle::destroyForcibly);
    }
}
