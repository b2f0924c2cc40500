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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A guest's watchdog end to end on the qemu driver (QEMU's IB700 on microvm): the image property
 * hw_watchdog_action reaches the agent, a guest that arms the watchdog and stops feeding it is
 * reset (its console shows a second boot) or paused, and each firing is an instance action and a
 * count on the agent's /metrics. The small guest is the freestanding watchdog.elf (seconds); the
 * Debian one arms Linux's own ib700wdt from its user data (minutes under emulation).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ResourceLock(LocalCloud.ROOT_NAMESPACE_AGENTS)
class WatchdogIT {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final Duration DEBIAN_WAIT = Duration.ofSeconds(480);
    private static final String HOST = "wd-one";
    private static final String ARMED = "STRATUS-WATCHDOG-ARMED";

    private LocalCloud cloud;
    private Api admin;
    private QuarkusProcess agent;
    private final List<String> servers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")),
                "the qemu driver needs Debian's qemu-system-x86");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-watchdog-it-"), "watchdog", Map.of());
        admin = cloud.admin;
        agent = cloud.agent(HOST, cloud.imageUrl, 2048, Map.of("stratus.agent.driver", "qemu"));
        cloud.awaitHostsUp(HOST);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "w1", "id", "w1", "vcpus", 1,
                "ram", 64, "disk", 0)));
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud == null) {
            return;
        }
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        for (String s : servers) {
            Files.writeString(logs.resolve("watchdog-console-" + s + ".log"), console(s));
            admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        for (String s : servers) {
            admin.awaitGone(s, WAIT);
        }
        cloud.close();
    }

    /** watchdog.elf as a kernel image whose watchdog runs out 2 s after it is armed, doing {@code action}. */
    private String watchdogKernel(String action) throws IOException {
        Api images = admin.at(cloud.imageBase());
        String id = images.ok("POST", "/image/v2/images", Map.of("name", "watchdog-" + action, "disk_format", "aki",
                "container_format", "aki", "visibility", "public", "os_command_line", "wd.index=14",
                "hw_watchdog_action", action)).path("id").asText();
        assertThat(images.upload(id, Path.of(System.getProperty("stratus.testGuests"), "watchdog.elf")).status())
                .isEqualTo(204);
        return id;
    }

    private String boot(String name, String flavor, String image, Map<String, Object> extra) {
        Map<String, Object> body = new java.util.HashMap<>(Map.of("name", name, "flavorRef", flavor, "imageRef",
                image));
        body.putAll(extra);
        String id = admin.ok("POST", "/compute/v2.1/servers", Map.of("server", body)).path("server").path("id")
                .asText();
        servers.add(id);
        return id;
    }

    @Test
    @Order(1)
    void aGuestThatStopsFeedingItsWatchdogIsResetAndBootsAgain() throws Exception {
        String id = boot("wd-reset", "w1", watchdogKernel("reset"), Map.of());
        admin.awaitServer(id, "ACTIVE", WAIT);

        String out = awaitConsole(id, c -> count(c, ARMED) >= 2, WAIT);

        assertThat(count(out, ARMED)).as("a second boot after the firing").isGreaterThanOrEqualTo(2);
        assertThat(admin.awaitServer(id, "ACTIVE", WAIT).path("OS-EXT-STS:vm_state").asText()).isEqualTo("active");
        assertThat(watchdogActions(id)).isNotEmpty().allSatisfy(a -> assertThat(a.path("message").asText())
                .isEqualTo("the guest's watchdog fired on host " + HOST + "; action: reset"));
        assertThat(fired("reset")).isGreaterThanOrEqualTo(1);
        // It arms the watchdog on every boot and is reset every few seconds: gone, it leaves the CPU to the rest.
        admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        admin.awaitGone(id, WAIT);
        servers.remove(id);
    }

    @Test
    @Order(2)
    void aGuestThatStopsFeedingItsWatchdogIsPausedWithActionPause() throws Exception {
        String id = boot("wd-pause", "w1", watchdogKernel("pause"), Map.of());

        admin.awaitServer(id, "PAUSED", WAIT);

        assertThat(count(console(id), ARMED)).as("paused, not booted again").isEqualTo(1);
        assertThat(watchdogActions(id)).singleElement().satisfies(a -> assertThat(a.path("message").asText())
                .isEqualTo("the guest's watchdog fired on host " + HOST + "; action: pause"));
        assertThat(fired("pause")).isEqualTo(1);
        // The operator looks, then lets it run again.
        assertThat(admin.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("unpause", Map.of()))
                .status()).isEqualTo(202);
        admin.awaitServer(id, "ACTIVE", WAIT);
    }

    @Test
    @Order(3)
    void debiansIb700wdtArmedFromUserDataResetsTheGuest() throws Exception {
        Path disk = GuestKit.dir().resolve("debian-12.qcow2");
        assumeTrue(Files.isRegularFile(disk), "the kit's debian-12.qcow2 is not built here (bin/stratus kit)");
        Api images = admin.at(cloud.imageBase());
        String image = images.ok("POST", "/image/v2/images", Map.of("name", "debian-12-wd", "disk_format", "qcow2",
                "container_format", "bare", "visibility", "public", "hw_watchdog_action", "reset")).path("id")
                .asText();
        assertThat(images.upload(image, disk).status()).isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "wd1", "id", "wd1", "vcpus", 1,
                "ram", 768, "disk", 3)));
        // Once per instance (cloud-init): the second boot does not arm it again. Closing /dev/watchdog
        // without the magic 'V' leaves it running ("WDT will not stop!"): 4 s later it fires.
        String userData = "#!/bin/sh\nmodprobe ib700wdt timeout=4\necho DEBIAN-WATCHDOG-ARMED\n"
                + "echo 1 > /dev/watchdog\n";
        String id = boot("wd-debian", "wd1", image, Map.of("config_drive", true, "user_data",
                Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8))));
        admin.awaitServer(id, "ACTIVE", WAIT);

        String out = awaitConsole(id, c -> c.contains("DEBIAN-WATCHDOG-ARMED")
                && c.lastIndexOf("Linux version") > c.indexOf("DEBIAN-WATCHDOG-ARMED"), DEBIAN_WAIT);

        assertThat(out.lastIndexOf("Linux version")).as("the kernel booted again after the arming")
                .isGreaterThan(out.indexOf("DEBIAN-WATCHDOG-ARMED"));
        assertThat(watchdogActions(id)).singleElement().satisfies(a -> assertThat(a.path("message").asText())
                .endsWith("action: reset"));
    }

    private List<JsonNode> watchdogActions(String id) {
        List<JsonNode> out = new ArrayList<>();
        admin.ok("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions", null).path("instanceActions")
                .forEach(a -> {
                    if (a.path("action").asText().equals("watchdog")) {
                        out.add(a);
                    }
                });
        return out;
    }

    /** The agent's stratus_watchdog_fired_total for {@code action}. */
    private long fired(String action) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + agent.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^stratus_watchdog_fired_total\\{[^}]*action=\"" + action
                + "\"[^}]*} ([0-9.eE+]+)$").matcher(text);
        assertThat(m.find()).as("stratus_watchdog_fired_total{action=%s} on /metrics", action).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    private String console(String id) {
        return admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of()))
                .path("output").asText();
    }

    private String awaitConsole(String id, java.util.function.Predicate<String> done, Duration limit)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        String out = console(id);
        while (!done.test(out)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the console of " + id + " did not show what was awaited within " + limit
                        + ":\n" + out);
            }
            Thread.sleep(500);
            out = console(id);
        }
        return out;
    }

    private static int count(String text, String word) {
        int n = 0;
        for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
            n++;
        }
        return n;
    }
}
