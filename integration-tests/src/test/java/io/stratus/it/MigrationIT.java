package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kvm.sys.Kvm;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Moving servers between two agents that run as separate processes, each in a network namespace
 * of its own (two hosts on one machine): live migration, cold migration and resize to another
 * host, through the Compute API and Debian's openstack client, over the agents' MigrationService,
 * with the scheduler's claims following the guest. Both hosts run the kvm driver where /dev/kvm
 * works, else the qemu driver on QEMU's emulator (the counting guests find their disk in either
 * machine's layout); a running guest moves in its driver's own stream.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationIT {
    /** The in-JVM VMM where it can run, else QEMU per guest (the agents' "auto" driver chooses the same). */
    private static final boolean KVM = Kvm.unavailableReason(Path.of("/dev/kvm")).isEmpty();
    private static final Duration WAIT = Duration.ofSeconds(120);
    /** A move's limit here: a Linux guest with a volume is copied paused under TCG. */
    private static final Duration TASK_TIMEOUT = Duration.ofSeconds(150);
    /** 8192 sectors: more than the guest counts in a test, so no sector is written twice. */
    private static final int DISK_BYTES = 4 << 20;
    private static final Pattern COUNT = Pattern.compile("COUNT (\\d+)( OK|( BAD[^\n]*))?\n");
    /** Migrations here are slowed to 8 MiB/s, so that a test can act while one runs. */
    private static final Map<String, String> AGENT = Map.of("stratus.agent.migration.max-bandwidth",
            Long.toString(8L << 20), "stratus.agent.migration.max-rounds", "6");

    private LocalCloud cloud;
    private Api admin;
    private QuarkusProcess one;
    private QuarkusProcess two;
    private String diskCounter;
    private String large;
    private final List<String> booted = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "network namespaces need root and iproute2");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-migration-it-"), "migration", Map.of(
                "stratus.scheduler.host-down-after", "PT4S", "stratus.scheduler.sweep-interval", "1s",
                "stratus.scheduler.task-timeout", TASK_TIMEOUT.toString(),
                // Long enough for the tests that confirm or revert by hand; the last waits it out.
                "stratus.scheduler.resize-confirm-window", "PT20S",
                // Volumes are exported where the agents' namespaces reach the control plane.
                "stratus.volume.nbd.address", HostNetwork.GATEWAY, "stratus.volume.nbd.first-port", "11309",
                "stratus.volume.nbd.last-port", "11399"), true);
        admin = cloud.admin;
        one = cloud.agentIn(9, "m-one", 1024, AGENT);
        two = cloud.agentIn(10, "m-two", 1024, AGENT);
        cloud.awaitHostsUp("m-one", "m-two");
        Api images = admin.at(cloud.imageBase());
        // Counts on its console and writes count n into sector n of its disk (a layer over this image).
        String kernel = images.ok("POST", "/image/v2/images", Map.of("name", "diskcount-kernel", "disk_format",
                "aki", "container_format", "aki", "visibility", "public")).path("id").asText();
        assertThat(images.upload(kernel, guest("diskcount.elf")).status()).isEqualTo(204);
        Path blank = cloud.dir.resolve("blank.raw");
        Files.write(blank, new byte[DISK_BYTES]);
        diskCounter = images.ok("POST", "/image/v2/images", Map.of("name", "diskcount", "disk_format", "raw",
                "container_format", "bare", "visibility", "public", "kernel_id", kernel)).path("id").asText();
        assertThat(images.upload(diskCounter, blank).status()).isEqualTo(204);
        // 16 MiB: round 1 alone takes about 2 s.
        large = migrant(images, "large", "mig.kib=16384 mig.delay=20000000 mig.every=1");
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "m1", "id", "m1", "vcpus", 1,
                "ram", 64, "disk", 0)));
        // Does not fit on a 1024 MiB host next to m1: a resize to it moves the server.
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "m2", "id", "m2", "vcpus", 2,
                "ram", 1000, "disk", 1)));
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    /** Each test starts on empty hosts: whatever a test booted goes, passed or failed. */
    @AfterEach
    void deleteServers() {
        for (String id : booted) {
            if (admin.call("GET", "/compute/v2.1/servers/" + id, null).status() == 200) {
                admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
                admin.awaitGone(id, WAIT);
            }
        }
        booted.clear();
    }

    private static String migrant(Api images, String name, String cmdline) throws IOException {
        String id = images.ok("POST", "/image/v2/images", Map.of("name", name, "disk_format", "aki",
                "container_format", "aki", "visibility", "public", "os_command_line", cmdline)).path("id").asText();
        assertThat(images.upload(id, guest("migrant.elf")).status()).isEqualTo(204);
        return id;
    }

    private static final Duration LINUX_WAIT = Duration.ofMinutes(4);

    /** The guest of the volume test: waits for its volume, writes its token once, then reads it every 2 s. */
    private static final String VOLMOVE = """
            #!/bin/sh
            # Its root disk is vda (this script's), its first volume slot vdb. What it reads, it reads from
            # the disk: the page cache is dropped before each read.
            mount -t sysfs sysfs /sys 2>/dev/null
            mount -t proc proc /proc 2>/dev/null
            mount -t devtmpfs devtmpfs /dev 2>/dev/null
            echo VOLMOVE-WAITING
            while read -r s </sys/block/vdb/size && [ "$s" = 0 ]; do sleep 1; done
            if [ "$(dd if=/dev/vdb bs=64 count=1 2>/dev/null | tr -d '\\000\\n')" != "$VOLTOKEN" ]; then
              echo "$VOLTOKEN" >/tmp/token
              dd if=/tmp/token of=/dev/vdb bs=512 count=1 conv=sync,fsync 2>/dev/null && echo VOLMOVE-WRITTEN
            fi
            i=0
            while true; do
              echo 3 >/proc/sys/vm/drop_caches
              echo "VOLMOVE-READ $i [$(dd if=/dev/vdb bs=64 count=1 2>/dev/null | tr -d '\\000\\n')]"
              i=$((i + 1))
              sleep 2
            done
            """;

    /**
     * A server with a volume (the Block Storage API's, attached through the Compute API) whose
     * guest wrote a token to it is live-migrated, then cold-migrated back: the volume moves with it
     * (the same export, opened by the target in the same slot: QEMU's -incoming guest built with the
     * source's slots, or kvm-runtime's slot state naming the export where /dev/kvm gives both hosts
     * the kvm driver; not copied), and its guest reads the token from the volume after each move; a
     * cold move boots the guest again, which finds the token there and does not write it again.
     */
    @Test
    @Order(8)
    void aServersVolumeMovesWithItLiveAndColdAndItsGuestReadsItsTokenAfterEach() throws Exception {
        String token = "stratus-volmove-" + UUID.randomUUID().toString().substring(0, 8);
        Api images = admin.at(cloud.imageBase());
        String kernel = upload(images, Map.of("name", "volmove-kernel", "disk_format", "aki", "container_format",
                "aki"), GuestKit.file("test-kernel/vmlinux"));
        String ramdisk = upload(images, Map.of("name", "volmove-initramfs", "disk_format", "ari",
                "container_format", "ari"), GuestKit.file("initramfs.cpio"));
        Path root = Files.createDirectories(cloud.dir.resolve("volmove-root"));
        Path script = root.resolve("volmove.sh");
        Files.writeString(script, VOLMOVE);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path disk = cloud.dir.resolve("volmove.img");
        Process mkfs = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", root.toString(), disk.toString(), "8M")
                .redirectErrorStream(true).start();
        assertThat(mkfs.waitFor()).as(new String(mkfs.getInputStream().readAllBytes())).isZero();
        String image = upload(images, Map.of("name", "volmove", "disk_format", "raw", "container_format", "bare",
                "kernel_id", kernel, "ramdisk_id", ramdisk, "os_command_line",
                "panic=-1 stratus.run=/mnt/volmove.sh VOLTOKEN=" + token), disk);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "v1", "id", "v1", "vcpus", 1,
                "ram", 96, "disk", 0)));
        String id = bootOn("m-one", "volmove", image, "v1");
        String volume = admin.ok("POST", "/volume/v3/volumes", Map.of("volume", Map.of("size", 1, "name",
                "movable"))).path("volume").path("id").asText();
        awaitVolume(volume, "available");
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/os-volume_attachments", Map.of("volumeAttachment",
                Map.of("volumeId", volume)));
        awaitVolume(volume, "in-use");
        int read = awaitRead(id, token, -1);
        assertThat(console(id)).contains("VOLMOVE-WRITTEN");

        migrate(id, null);
        // A Linux guest under TCG is copied paused, and its target takes a while to prepare on a busy host.
        assertThat(admin.awaitServer(id, "ACTIVE", LINUX_WAIT).path("OS-EXT-SRV-ATTR:host").asText())
                .isEqualTo("m-two");
        // Read from the volume through the target's connection, the page cache dropped first.
        awaitRead(id, token, read + 2);
        assertThat(runsOn(one, "m-one", id)).as("the source let go of the guest").isFalse();
        assertThat(moves(id).get(0)).isEqualTo("live-migration completed m-one->m-two");

        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Collections.singletonMap("migrate", null));
        assertThat(admin.awaitServer(id, "VERIFY_RESIZE", LINUX_WAIT).path("OS-EXT-SRV-ATTR:host").asText())
                .isEqualTo("m-one");
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Collections.singletonMap("confirmResize", null));
        admin.awaitServer(id, "ACTIVE", LINUX_WAIT);
        // Booted again on m-one: the token is on the volume already, so the guest only reads it.
        String afterCold = awaitConsole(id, Pattern.compile("VOLMOVE-READ \\d+ \\[" + Pattern.quote(token) + "\\]"
                + "(?![\\s\\S]*VOLMOVE-WAITING)"));
        String lastBoot = afterCold.substring(afterCold.lastIndexOf("VOLMOVE-WAITING"));
        assertThat(lastBoot).doesNotContain("VOLMOVE-WRITTEN");
        assertThat(admin.ok("GET", "/volume/v3/volumes/" + volume, null).path("volume").path("status").asText())
                .isEqualTo("in-use");
        System.out.printf("volume %s moved with server %s: m-one -> m-two live, back cold; the token read after"
                + " each%n", volume, id);
        attachmentsThroughTheClient(id, volume);
        awaitVolume(volume, "available");
        admin.ok("DELETE", "/volume/v3/volumes/" + volume, null);
    }

    /**
     * Cinder's v3 attachments API through Debian's client at 3.44: the Compute API's attachment is
     * listed; another volume is reserved for the server, shown, and deleted (available again); a
     * third is created with a connector (its NBD export in the connection info) and completed (in
     * use), and goes with the server.
     */
    private void attachmentsThroughTheClient(String server, String attached) throws Exception {
        JsonNode all = client("volume", "attachment", "list");
        assertThat(all.findValuesAsText("Volume ID")).as(all.toString()).contains(attached);
        String spare = volume("spare");
        String other = volume("connected");
        JsonNode reserved = client("volume", "attachment", "create", spare, server);
        assertThat(reserved.path("Status").asText()).as(reserved.toString()).isEqualTo("reserved");
        String reservation = reserved.path("ID").asText();
        assertThat(client("volume", "attachment", "show", reservation).path("Status").asText()).isEqualTo("reserved");
        assertThat(admin.ok("GET", "/volume/v3/volumes/" + spare, null).path("volume").path("status").asText())
                .isEqualTo("reserved");
        cloud.openstack("--os-volume-api-version", "3.44", "volume", "attachment", "delete", reservation);
        awaitVolume(spare, "available");
        JsonNode connected = client("volume", "attachment", "create", other, server, "--connect", "--host", "m-one",
                "--initiator", "iqn.2026-12.io.stratus:migration-it");
        assertThat(connected.path("Status").asText()).as(connected.toString()).isEqualTo("attaching");
        assertThat(connected.toString()).contains("nbd://" + HostNetwork.GATEWAY + ":");
        cloud.openstack("--os-volume-api-version", "3.44", "volume", "attachment", "complete",
                connected.path("ID").asText());
        assertThat(client("volume", "attachment", "show", connected.path("ID").asText()).path("Status").asText())
                .isEqualTo("attached");
        awaitVolume(other, "in-use");
        admin.ok("DELETE", "/compute/v2.1/servers/" + server, null);
        admin.awaitGone(server, WAIT);
        booted.remove(server);
        awaitVolume(other, "available");
        admin.ok("DELETE", "/volume/v3/volumes/" + spare, null);
        admin.ok("DELETE", "/volume/v3/volumes/" + other, null);
    }

    /** Debian's openstack client at volume API 3.44, its JSON (after any warnings it printed first). */
    private JsonNode client(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--os-volume-api-version", "3.44"));
        all.addAll(List.of(args));
        all.addAll(List.of("-f", "json"));
        String printed = cloud.openstack(all.toArray(String[]::new));
        int start = printed.indexOf('{') < 0 ? printed.indexOf('[') : printed.indexOf('[') < 0 ? printed.indexOf('{')
                : Math.min(printed.indexOf('{'), printed.indexOf('['));
        return new ObjectMapper().readTree(printed.substring(Math.max(0, start)));
    }

    private String volume(String name) throws InterruptedException {
        String id = admin.ok("POST", "/volume/v3/volumes", Map.of("volume", Map.of("size", 1, "name", name)))
                .path("volume").path("id").asText();
        awaitVolume(id, "available");
        return id;
    }

    /** Waits until the guest's console shows a read of {@code token} numbered above {@code after}; its number. */
    private int awaitRead(String id, String token, int after) throws InterruptedException {
        Pattern read = Pattern.compile("VOLMOVE-READ (\\d+) \\[([^\\]]*)\\]");
        long deadline = System.nanoTime() + LINUX_WAIT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                    Map.of("os-getConsoleOutput", Map.of()));
            if (r.status() == 200) {
                last = r.body().path("output").asText();
                Matcher m = read.matcher(last);
                int n = -1;
                String seen = null;
                while (m.find()) {
                    n = Integer.parseInt(m.group(1));
                    seen = m.group(2);
                }
                if (n > after) {
                    assertThat(seen).as("read %d of the volume: %s", n, last).isEqualTo(token);
                    return n;
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + id + " never read its volume after read " + after + ": " + last);
    }

    private String awaitConsole(String id, Pattern wanted) throws InterruptedException {
        long deadline = System.nanoTime() + LINUX_WAIT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                    Map.of("os-getConsoleOutput", Map.of()));
            if (r.status() == 200) {
                last = r.body().path("output").asText();
                if (wanted.matcher(last).find()) {
                    return last;
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + id + " never showed " + wanted + ": " + last);
    }

    private void awaitVolume(String id, String status) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String now = "";
        while (System.nanoTime() < deadline) {
            now = admin.ok("GET", "/volume/v3/volumes/" + id, null).path("volume").path("status").asText();
            if (now.equals(status)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("volume " + id + " never became " + status + " (" + now + ")");
    }

    private static String upload(Api images, Map<String, Object> fields, Path file) throws IOException {
        Map<String, Object> body = new HashMap<>(fields);
        body.put("visibility", "public");
        String id = images.ok("POST", "/image/v2/images", body).path("id").asText();
        assertThat(images.upload(id, file).status()).isEqualTo(204);
        return id;
    }

    private static Path guest(String name) {
        return Path.of(System.getProperty("stratus.testGuests"), name);
    }

    @Test
    @Order(1)
    void aGuestThatCountsOnItsConsoleAndDiskMovesToTheOtherHostAndLosesNothing() throws Exception {
        String id = bootOn("m-one", "counting", diskCounter);
        long before = awaitCount(id, 10);
        assertThat(runsOn(one, "m-one", id)).as("the guest runs on the source").isTrue();

        migrate(id, null);
        JsonNode s = admin.awaitServer(id, "ACTIVE", WAIT);
        assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");

        // The console is the target's now: it goes on from where the source was, never from 0.
        awaitCount(id, before + 20);
        assertThat(runsOn(one, "m-one", id)).as("the source let go of the guest").isFalse();
        assertThat(runsOn(two, "m-two", id)).as("the target runs it").isTrue();
        assertThat(vcpusUsed()).as("placement holds the guest on the target only")
                .isEqualTo(Map.of("m-one", 0L, "m-two", 1L));
        assertThat(moves(id)).containsExactly("live-migration completed m-one->m-two");
        assertThat(metrics(one)).contains("stratus_agent_migrations_total{direction=\"out\",host=\"m-one\","
                + "kind=\"live\",result=\"completed\"} 1.0").contains("stratus_agent_migration_downtime_seconds_count");
        assertThat(metrics(two)).contains("stratus_agent_migrations_total{direction=\"in\",host=\"m-two\","
                + "kind=\"live\",result=\"completed\"} 1.0");

        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()));
        admin.awaitServer(id, "SHUTOFF", WAIT);
        String console = console(id);
        List<Long> counts = counts(console);
        assertThat(counts).as(console).isNotEmpty();
        assertThat(counts.get(0)).as("the guest was not reset: " + console).isGreaterThanOrEqualTo(before);
        for (int i = 1; i < counts.size(); i++) {
            assertThat(counts.get(i)).as(console).isEqualTo(counts.get(i - 1) + 1);
        }
        // Each count is printed after its sector was written: every one up to the last is on the disk.
        long last = counts.get(counts.size() - 1);
        assertCounts(cloud.dir.resolve("m-two"), id, last);
        System.out.printf("live migration m-one -> m-two: count went on from %d to %d, %d sectors checked%n",
                before, last, last + 1);
    }

    /** The guest-visible contents of a qcow2 disk (qemu-img reads it, as any other tool would). */
    private static byte[] rawDisk(Path qcow2) throws Exception {
        Path raw = Files.createTempFile("stratus-migrated-", ".raw");
        try {
            Process p = new ProcessBuilder("qemu-img", "convert", "-O", "raw", qcow2.toString(), raw.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
            return Files.readAllBytes(raw);
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    @Test
    @Order(2)
    void killingTheTargetMidMigrationLeavesTheGuestRunningOnTheSource() throws Exception {
        String id = bootOn("m-one", "survivor", large);
        long before = awaitCount(id, 3);
        migrate(id, "m-two");
        // 16 MiB of the guest's region at 8 MiB/s: the stream runs for about 2 s.
        awaitTask(id, "migrating");
        Thread.sleep(700);
        two.kill();
        try {
            // Killed before it accepted the stream, the target refuses connections: the source gives up
            // 10 s later (TargetWait); failing that, the task timeout (150 s) rolls back.
            JsonNode s = admin.awaitServer(id, "ACTIVE", TASK_TIMEOUT.plusSeconds(60));
            assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-one");
            assertThat(awaitCount(id, before + 5)).as("it counts on at the source").isGreaterThan(before);
            assertThat(vcpusUsed().get("m-one")).isEqualTo(1L);
        } finally {
            two = cloud.agentIn(10, "m-two", 1024, AGENT);
            cloud.awaitHostsUp("m-two");
        }
        assertThat(vcpusUsed()).as("the target's claim went back").isEqualTo(Map.of("m-one", 1L, "m-two", 0L));
        assertThat(moves(id)).containsExactly("live-migration error m-one->m-two");
        assertThat(moveFault(id)).as("os-migrations says why").isNotBlank();
    }

    @Test
    @Order(3)
    void aMigrationThatCannotConvergeIsAbortedAndTheGuestStays() throws Exception {
        // The qemu driver under TCG copies a guest paused (QEMU's dirty tracking there loses writes): a
        // copy that cannot converge is live migration's, where the guest runs (kvm, or QEMU on KVM).
        assumeTrue(!hypervisorType("m-one").equals("QEMU"), "m-one emulates its guests (QEMU's TCG), whose"
                + " migrations copy the guest paused: nothing to converge");
        String busy = migrant(admin.at(cloud.imageBase()), "busy", "mig.kib=16384 mig.delay=0 mig.every=64");
        String id = bootOn("m-one", "busy", busy);
        long before = awaitCount(id, 2);
        migrate(id, "m-two");
        JsonNode s = awaitTaskEnd(id);
        assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-one");
        assertThat(awaitCount(id, before + 3)).isGreaterThan(before);
        assertThat(vcpusUsed()).as("no claim left on the target").isEqualTo(Map.of("m-one", 1L, "m-two", 0L));
        assertThat(Files.readString(one.log())).contains("did not converge");
        assertThat(moves(id)).containsExactly("live-migration error m-one->m-two");
        assertThat(moveFault(id)).contains("did not converge");
    }

    /** Nova's hypervisor_type of {@code host}: QEMU when it emulates, KVM with hardware virtualization. */
    private String hypervisorType(String host) {
        for (JsonNode h : admin.ok("GET", "/compute/v2.1/os-hypervisors/detail", null).path("hypervisors")) {
            if (h.path("hypervisor_hostname").asText().equals(host)) {
                return h.path("hypervisor_type").asText();
            }
        }
        throw new AssertionError("no hypervisor " + host);
    }

    @Test
    @Order(4)
    void aColdMigrationCopiesTheDiskAndIsRevertedThenConfirmed() throws Exception {
        String id = bootOn("m-one", "cold", diskCounter);
        long counted = awaitCount(id, 10);
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()));
        admin.awaitServer(id, "SHUTOFF", WAIT);
        long last = lastCount(console(id));
        assertThat(last).isGreaterThanOrEqualTo(counted);

        cloud.openstack("server", "migrate", id);
        JsonNode moved = admin.awaitServer(id, "VERIFY_RESIZE", WAIT);
        assertThat(moved.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");
        assertThat(moved.path("OS-EXT-STS:power_state").asInt()).as("moved stopped, it is still shut down (4)")
                .isEqualTo(4);
        assertThat(vcpusUsed()).as("both copies are held until confirm or revert")
                .isEqualTo(Map.of("m-one", 1L, "m-two", 1L));
        // It was stopped: the target has not booted it, and its disk is the source's, every count of it.
        assertCounts(cloud.dir.resolve("m-two"), id, last);

        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("revertResize", Map.of()));
        JsonNode back = admin.awaitServer(id, "SHUTOFF", WAIT);
        assertThat(back.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-one");
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 1L, "m-two", 0L));
        awaitGoneFrom("m-two", id);

        cloud.openstack("server", "migrate", id);
        admin.awaitServer(id, "VERIFY_RESIZE", WAIT);
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("confirmResize", Map.of()));
        JsonNode confirmed = admin.awaitServer(id, "SHUTOFF", WAIT);
        assertThat(confirmed.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 0L, "m-two", 1L));
        awaitGoneFrom("m-one", id);
        assertCounts(cloud.dir.resolve("m-two"), id, last);
        // Operators see both moves, with the client they already use.
        String printed = cloud.openstack("server", "migration", "list", "--server", id, "-f", "json");
        // The client's warnings, if any, come first on the same stream.
        JsonNode listed = new ObjectMapper().readTree(printed.substring(Math.max(0, printed.indexOf('['))));
        List<String> statuses = new ArrayList<>();
        listed.forEach(m -> statuses.add(m.path("Status").asText()));
        assertThat(statuses).as(listed.toString()).containsExactly("confirmed", "reverted");
    }

    @Test
    @Order(5)
    void aResizeThatDoesNotFitItsHostGrowsTheServerOnAnother() throws Exception {
        String id = bootOn("m-one", "grow", diskCounter);
        long before = awaitCount(id, 5);
        Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                Map.of("resize", Map.of("flavorRef", "m2")));
        assertThat(r.status()).as(r.body().toString()).isEqualTo(202);
        JsonNode resized = admin.awaitServer(id, "VERIFY_RESIZE", WAIT);
        assertThat(resized.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");
        assertThat(resized.path("flavor").path("id").asText()).isEqualTo("m2");
        assertThat(resized.path("OS-EXT-STS:power_state").asInt()).as("running (1)").isEqualTo(1);
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 1L, "m-two", 2L));
        // It ran, so it runs on the target at its new size.
        awaitCount(id, 3);
        assertThat(diskBytes("m-two", id)).as("the disk grew to the flavor's 1 GiB").isEqualTo(1L << 30);

        cloud.openstack("server", "resize", "revert", id);
        JsonNode back = admin.awaitServer(id, "ACTIVE", WAIT);
        assertThat(back.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-one");
        assertThat(back.path("flavor").path("id").asText()).isEqualTo("m1");
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 1L, "m-two", 0L));
        // Started again on the source: its console goes on past where it was before the move.
        awaitCount(id, before + 3);

        cloud.openstack("server", "resize", "--flavor", "m2", id);
        admin.awaitServer(id, "VERIFY_RESIZE", WAIT);
        cloud.openstack("server", "resize", "confirm", id);
        JsonNode grown = admin.awaitServer(id, "ACTIVE", WAIT);
        assertThat(grown.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");
        assertThat(grown.path("flavor").path("id").asText()).isEqualTo("m2");
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 0L, "m-two", 2L));
        awaitGoneFrom("m-one", id);
        assertThat(moves(id)).containsExactly("resize confirmed m-one->m-two", "resize reverted m-one->m-two");
    }

    @Test
    @Order(6)
    void aMoveNobodyConfirmsIsConfirmedAfterTheWindow() throws Exception {
        String id = bootOn("m-one", "forgotten", diskCounter);
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("migrate", Map.of()));
        admin.awaitServer(id, "VERIFY_RESIZE", WAIT);
        // resize-confirm-window is 20 s here: nobody confirms, the scheduler does.
        JsonNode confirmed = admin.awaitServer(id, "ACTIVE", WAIT);
        assertThat(confirmed.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("m-two");
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 0L, "m-two", 1L));
        awaitGoneFrom("m-one", id);
        assertThat(moves(id)).containsExactly("migration confirmed m-one->m-two");
    }

    /**
     * A server deleted while it moves live, and one deleted while its cold move waits for
     * confirm: neither host keeps a copy or a claim, both agents live on (the source's guest
     * memory was being streamed when the delete closed its VM), and os-migrations says how each
     * move ended.
     */
    @Test
    @Order(7)
    void deletingAServerThatMovesOrWaitsForConfirmLeavesNothingOnEitherHost() throws Exception {
        String moving = bootOn("m-one", "deleted-moving", large);
        awaitCount(moving, 2);
        migrate(moving, "m-two");
        // 16 MiB of the guest's region at 8 MiB/s: the stream runs for about 2 s.
        awaitTask(moving, "migrating");
        Thread.sleep(700);
        admin.ok("DELETE", "/compute/v2.1/servers/" + moving, null);
        admin.awaitGone(moving, WAIT);
        awaitGoneFrom("m-one", moving);
        awaitGoneFrom("m-two", moving);
        assertThat(moves(moving)).containsExactly("live-migration error m-one->m-two");
        assertThat(moveFault(moving)).contains("deleted during the move");

        String waiting = bootOn("m-one", "deleted-waiting", diskCounter);
        admin.ok("POST", "/compute/v2.1/servers/" + waiting + "/action", Map.of("migrate", Map.of()));
        admin.awaitServer(waiting, "VERIFY_RESIZE", WAIT);
        admin.ok("DELETE", "/compute/v2.1/servers/" + waiting, null);
        admin.awaitGone(waiting, WAIT);
        awaitGoneFrom("m-two", waiting);
        awaitGoneFrom("m-one", waiting);
        assertThat(moves(waiting)).as("Nova confirms a move on delete").containsExactly(
                "migration confirmed m-one->m-two");

        assertThat(one.alive()).as("agent m-one runs on (see " + one.log() + ")").isTrue();
        assertThat(two.alive()).as("agent m-two runs on (see " + two.log() + ")").isTrue();
        assertThat(vcpusUsed()).isEqualTo(Map.of("m-one", 0L, "m-two", 0L));
    }

    private static String metrics(QuarkusProcess agent) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + agent.host() + ":"
                + agent.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Every count up to {@code last} is in its sector of the instance's disk on that host. */
    private static void assertCounts(Path agentDir, String id, long last) throws Exception {
        byte[] disk = rawDisk(agentDir.resolve("instances").resolve(id).resolve("disk.qcow2"));
        for (long n = 0; n <= last; n++) {
            String sector = new String(disk, (int) (n * 512), 32, StandardCharsets.US_ASCII);
            assertThat(sector).as("sector %d", n).startsWith("STRATUS-COUNT " + n + "\n");
        }
    }

    private long diskBytes(String host, String id) throws Exception {
        Process p = new ProcessBuilder("qemu-img", "info", "-U", "--output=json", cloud.dir.resolve(host)
                .resolve("instances").resolve(id).resolve("disk.qcow2").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        return new ObjectMapper().readTree(out).path("virtual-size").asLong();
    }

    /** The host's agent deletes its copy (its instance directory goes). */
    private void awaitGoneFrom(String host, String id) throws InterruptedException {
        Path dir = cloud.dir.resolve(host).resolve("instances").resolve(id);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (Files.exists(dir) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(dir).as("the copy on " + host).doesNotExist();
    }

    private static long lastCount(String console) {
        List<Long> c = counts(console);
        return c.isEmpty() ? -1 : c.get(c.size() - 1);
    }

    /**
     * Debian's openstack client against the scheduler, as admin; fails the test on a non-zero exit.
     * Returns what it printed.
     */
    /** The server's moves as os-migrations lists them, newest first: "type status source->dest". */
    private List<String> moves(String id) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : admin.ok("GET", "/compute/v2.1/os-migrations?instance_uuid=" + id, null)
                .path("migrations")) {
            assertThat(m.path("instance_uuid").asText()).isEqualTo(id);
            out.add(m.path("migration_type").asText() + " " + m.path("status").asText() + " "
                    + m.path("source_compute").asText() + "->" + m.path("dest_compute").asText());
        }
        return out;
    }

    /** Why os-migrations says the server's newest move failed. */
    private String moveFault(String id) {
        return admin.ok("GET", "/compute/v2.1/os-migrations?instance_uuid=" + id + "&status=error", null)
                .path("migrations").path(0).path("stratus:fault").path("message").asText();
    }

    private String bootOn(String host, String name, String image) throws InterruptedException {
        return bootOn(host, name, image, "m1");
    }

    private String bootOn(String host, String name, String image, String flavor) throws InterruptedException {
        String other = host.equals("m-one") ? "m-two" : "m-one";
        admin.switchHost(other, false);
        try {
            String id = admin.ok("POST", "/compute/v2.1/servers", Api.server(name, flavor, image)).path("server")
                    .path("id").asText();
            booted.add(id);
            assertThat(admin.awaitServer(id, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(host);
            return id;
        } finally {
            admin.switchHost(other, true);
        }
    }

    private void migrate(String id, String host) {
        Map<String, Object> args = new HashMap<>();
        args.put("host", host);
        args.put("block_migration", "auto");
        Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-migrateLive", args));
        assertThat(r.status()).as(r.body().toString()).isEqualTo(202);
    }

    private String console(String id) {
        return admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of()))
                .path("output").asText();
    }

    private static List<Long> counts(String console) {
        Matcher m = COUNT.matcher(console);
        List<Long> out = new ArrayList<>();
        while (m.find()) {
            out.add(Long.parseLong(m.group(1)));
        }
        return out;
    }

    /** Waits until the guest's console shows a count of at least {@code least}; returns the last count. */
    private long awaitCount(String id, long least) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        long last = -1;
        while (System.nanoTime() < deadline) {
            Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                    Map.of("os-getConsoleOutput", Map.of()));
            if (r.status() == 200) {
                List<Long> c = counts(r.body().path("output").asText());
                last = c.isEmpty() ? -1 : c.get(c.size() - 1);
                if (last >= least) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " never counted to " + least + " (last " + last + ")");
    }

    private void awaitTask(String id, String task) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
            if (s.path("OS-EXT-STS:task_state").asText().equals(task)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("server " + id + " never had task " + task);
    }

    private JsonNode awaitTaskEnd(String id) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        Thread.sleep(500);
        while (System.nanoTime() < deadline) {
            JsonNode s = admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
            if (s.path("OS-EXT-STS:task_state").isNull()) {
                return s;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server " + id + " kept its task");
    }

    /**
     * Whether the host runs the instance's guest: the kvm driver's in the agent's process (its
     * RAM mapped there), the qemu driver's in the QEMU process of the instance's pid file.
     */
    private boolean runsOn(QuarkusProcess agent, String host, String id) throws IOException {
        if (KVM) {
            return guestMappings(agent.pid()) > 0;
        }
        Path pidFile = cloud.dir.resolve(host).resolve("instances").resolve(id).resolve("qemu.pid");
        if (!Files.exists(pidFile)) {
            return false;
        }
        return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).map(ProcessHandle::isAlive)
                .orElse(false);
    }

    /** Anonymous mappings of a 64 MiB guest's RAM in the agent process {@code pid}. */
    private static long guestMappings(long pid) throws IOException {
        long n = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (line.startsWith("Size:") && line.replaceAll("\\s+", " ").equals("Size: 65536 kB")) {
                n++;
            }
        }
        return n;
    }

    private Map<String, Long> vcpusUsed() {
        Map<String, Long> used = new HashMap<>();
        for (JsonNode h : admin.ok("GET", "/compute/v2.1/os-hypervisors/detail", null).path("hypervisors")) {
            used.put(h.path("hypervisor_hostname").asText(), h.path("vcpus_used").asLong());
        }
        return used;
    }
}
