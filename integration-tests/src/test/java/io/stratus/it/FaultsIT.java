package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.local.QuarkusProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Faults injected into a running cloud of separate processes: an agent killed with SIGKILL and
 * started again, the Kafka broker restarted while boots are in flight. Requests end ACTIVE or
 * with a clear fault, none stays stuck, and placement never books a host twice.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsIT {
    private static final Duration WAIT = Duration.ofSeconds(120);

    private LocalCloud cloud;
    private Api admin;
    private QuarkusProcess one;
    private String image;

    @BeforeAll
    void start() throws Exception {
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-faults-it-"), "faults", Map.of(
                "stratus.scheduler.host-down-after", "PT4S", "stratus.scheduler.sweep-interval", "1s",
                "stratus.scheduler.task-timeout", "PT60S"), true);
        admin = cloud.admin;
        // Each agent a host of its own: a network namespace, reaching the services over a bridge.
        one = cloud.agentIn(3, "f-one", 1024, Map.of());
        cloud.agentIn(4, "f-two", 1024, Map.of());
        cloud.awaitHostsUp("f-one", "f-two");
        Api images = admin.at(cloud.imageBase());
        image = images.ok("POST", "/image/v2/images", Map.of("name", "tiny", "disk_format", "aki",
                "container_format", "aki", "visibility", "public", "os_command_line", "stratus.idle")).path("id").asText();
        assertThat(images.upload(image, Path.of(System.getProperty("stratus.testGuests"), "instance.elf")).status())
                .isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "f1", "id", "f1", "vcpus", 1,
                "ram", 32, "disk", 0)));
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    @Order(1)
    void aKilledAgentComesBackWithItsGuestsAndNoHostIsBookedTwice() throws Exception {
        admin.switchHost("f-two", false);
        String kept;
        try {
            kept = boot("kept");
            assertThat(admin.awaitServer(kept, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("f-one");
        } finally {
            admin.switchHost("f-two", true);
        }
        one.kill();
        awaitState("f-one", "down");
        // The scheduler places around the dead host.
        String other = boot("elsewhere");
        assertThat(admin.awaitServer(other, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("f-two");

        one = cloud.agentIn(3, "f-one", 1024, Map.of());
        awaitState("f-one", "up");
        // The restarted agent boots its guest again from its records: the console shows it running.
        assertThat(awaitConsole(kept, "STRATUS-GUEST-READY")).as("the guest runs again on f-one").isTrue();
        assertThat(admin.awaitServer(kept, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("f-one");
        assertThat(vcpusUsed()).as("one claim per server").isEqualTo(Map.of("f-one", 1L, "f-two", 1L));
        delete(List.of(kept, other));
        assertThat(vcpusUsed()).isEqualTo(Map.of("f-one", 0L, "f-two", 0L));
    }

    @Test
    @Order(2)
    void aBrokerRestartDuringBootsLeavesNoRequestStuck() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(boot("through-restart-" + i));
        }
        cloud.restartBroker();
        int active = 0;
        for (String id : ids) {
            JsonNode s = awaitSettled(id);
            if (s.path("status").asText().equals("ACTIVE")) {
                active++;
            } else {
                assertThat(s.path("fault").path("message").asText()).as("an ERROR says why").isNotBlank();
            }
        }
        System.out.printf("broker restarted during 6 boots: %d ACTIVE, %d ERROR with a fault%n", active,
                ids.size() - active);
        // After the restart the bus works for new requests too.
        String after = boot("after-restart");
        admin.awaitServer(after, "ACTIVE", WAIT);
        ids.add(after);
        delete(ids);
        assertThat(vcpusUsed()).isEqualTo(Map.of("f-one", 0L, "f-two", 0L));
    }

    private String boot(String name) {
        return admin.ok("POST", "/compute/v2.1/servers", Api.server(name, "f1", image)).path("server").path("id")
                .asText();
    }

    /** Waits until the server is ACTIVE or ERROR with no task running: stuck is a failure. */
    private JsonNode awaitSettled(String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
            String status = s.path("status").asText();
            if ((status.equals("ACTIVE") || status.equals("ERROR")) && s.path("OS-EXT-STS:task_state").isNull()) {
                return s;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + id + " is stuck: " + s);
    }

    private void delete(List<String> ids) {
        for (String id : ids) {
            admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        }
        for (String id : ids) {
            admin.awaitGone(id, WAIT);
        }
    }

    private Map<String, Long> vcpusUsed() {
        Map<String, Long> used = new HashMap<>();
        for (JsonNode h : admin.ok("GET", "/compute/v2.1/os-hypervisors/detail", null).path("hypervisors")) {
            used.put(h.path("hypervisor_hostname").asText(), h.path("vcpus_used").asLong());
        }
        return used;
    }

    private void awaitState(String host, String state) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode svc : admin.ok("GET", "/compute/v2.1/os-services", null).path("services")) {
                if (svc.path("host").asText().equals(host) && svc.path("state").asText().equals(state)) {
                    return;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("host " + host + " never became " + state);
    }

    private boolean awaitConsole(String id, String text) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                    Map.of("os-getConsoleOutput", Map.of("length", 50)));
            if (r.status() == 200 && r.body().path("output").asText().contains(text)) {
                return true;
            }
            Thread.sleep(500);
        }
        return false;
    }
}
