package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.local.HostNetwork;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Volumes end to end through the APIs, on one cloud of two qemu-driver hosts (agents in network
 * namespaces of their own) and three boots of the kit's small whole-disk image: a root volume made
 * from the image ({@code openstack server create --boot-from-volume}) keeps what its server wrote
 * after the server is deleted, and a new server ({@code --volume}) boots from it and finds it; a
 * snapshot of that volume keeps the earlier state while the volume is written again; a data volume
 * written by a guest on one host is detached and attached to a server on the other host, whose guest
 * reads it; a volume given to that server at boot with delete_on_termination goes with it. The
 * server booted from the root volume moves live to the other host and cold back, reading its token
 * after each, and its createImage (snapshots, no data) is what that server on the other host boots
 * from, its root a volume made from the snapshot. Guests
 * answer on their consoles (their user data comes on a config drive). Nova's 400s for mappings it
 * refuses come first, before any boot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VolumesApiIT {
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final String A = "vol-host-a";
    private static final String B = "vol-host-b";
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Notes the disks that have a size now, then waits in the background for one that was empty (a
     * volume slot) to get a size (an attached volume) and runs {@code $1} with its name: the guest's
     * part of an attach. The note is taken before {@code on_attach} returns, so a script that prints
     * its marker after calling it cannot have the test attach before the guest knows what was there.
     */
    private static final String ON_ATTACH = """
            on_attach() {
              base=""; for d in /sys/block/vd*; do [ "$(cat $d/size)" != 0 ] && base="$base ${d##*/}"; done
              (
                while :; do
                  for d in /sys/block/vd*; do
                    n=${d##*/}; case " $base " in *" $n "*) continue ;; esac
                    [ "$(cat $d/size)" != 0 ] && { "$1" "$n"; exit; }
                  done
                  sleep 1
                done
              ) &
            }
            """;

    private LocalCloud cloud;
    private Api admin;
    private GuestAccess guests;
    private final List<String> servers = new ArrayList<>();

    /** The hypervisor driver both hosts run. */
    String driver() {
        return "qemu";
    }

    /** The cloud's name and the first of its two host namespace numbers, which no other class may take. */
    String cloudName() {
        return "volumes";
    }

    int firstNamespace() {
        return 187;
    }

    /** The first of this class's 30 NBD export ports. */
    int firstExportPort() {
        return 42610;
    }

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "two hosts in network namespaces need root and iproute2");
        // Exports on the namespaces' bridge, on ports of this test's own.
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-" + cloudName() + "-it-"), cloudName(), Map.of(
                "stratus.volume.nbd.address", HostNetwork.GATEWAY, "stratus.volume.nbd.first-port",
                Integer.toString(firstExportPort()), "stratus.volume.nbd.last-port",
                Integer.toString(firstExportPort() + 29), "stratus.scheduler.task-timeout", "PT240S"), true);
        admin = cloud.admin;
        guests = new GuestAccess(admin, cloud.dir.resolve("no-key"));
        cloud.agentIn(firstNamespace(), A, 2048, Map.of("stratus.agent.driver", driver()));
        cloud.agentIn(firstNamespace() + 1, B, 2048, Map.of("stratus.agent.driver", driver()));
        cloud.awaitHostsUp(A, B);
        cloud.openstack("image", "create", "--public", "--disk-format", "qcow2", "--container-format", "bare",
                "--file", GuestKit.file("cloud-small.qcow2").toString(), "vol-small");
        cloud.openstack("flavor", "create", "--id", "v1", "--vcpus", "1", "--ram", "128", "--disk", "1", "v1");
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud == null) {
            return;
        }
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        for (String s : servers) {
            Api.Reply console = admin.call("POST", "/compute/v2.1/servers/" + s + "/action",
                    Map.of("os-getConsoleOutput", Map.of()));
            if (console.status() == 200) {
                Files.writeString(logs.resolve(cloudName() + "-console-" + s + ".log"), console.body().path("output").asText());
            }
            admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        for (String s : servers) {
            admin.awaitGone(s, WAIT);
        }
        cloud.close();
    }

    @Test
    void volumesKeepTheirDataAcrossServersHostsAndSnapshots() throws Exception {
        // Refused before any server is made, with Nova's messages.
        assertThat(refusal(Map.of("name", "x", "flavorRef", "v1"))).isEqualTo("Missing imageRef attribute");
        assertThat(refusal(Map.of("name", "x", "flavorRef", "v1", "block_device_mapping_v2", List.of(Map.of(
                "uuid", "nope", "source_type", "volume", "destination_type", "volume", "boot_index", 0)))))
                .isEqualTo("Block Device Mapping is Invalid: failed to get volume nope.");

        // A root volume made from the image for the first server, which writes a token on its root filesystem.
        String first = create(A, "--image", "vol-small", "--boot-from-volume", "1", "--user-data",
                script("echo ROOT-TOKEN-ONE >/root-token; sync; echo \"WROTE-ROOT $(cat /root-token)\""), "bfv-1");
        JsonNode shown = admin.awaitServer(first, "ACTIVE", WAIT);
        assertThat(shown.path("image").asText()).as("Nova shows no image for a volume-backed server").isEmpty();
        JsonNode attached = shown.path("os-extended-volumes:volumes_attached");
        assertThat(attached).hasSize(1);
        String root = attached.path(0).path("id").asText();
        assertThat(volume(root).path("status").asText()).isEqualTo("in-use");
        assertThat(volume(root).path("bootable").asText()).isEqualTo("true");
        guests.awaitConsole(first, "WROTE-ROOT ROOT-TOKEN-ONE", WAIT);
        assertThat(admin.call("POST", "/compute/v2.1/servers/" + first + "/action", Map.of("rebuild",
                Map.of("imageRef", image()))).status()).as("rebuild of a volume-backed server").isEqualTo(400);

        // Deleted without its root volume (delete_on_termination false): the volume is free again.
        deleteServer(first);
        awaitVolume(root, "available");

        // The volume as it is now, kept by a snapshot.
        String snapshot = admin.ok("POST", "/volume/v3/snapshots", Map.of("snapshot", Map.of("volume_id", root,
                "name", "before-two"))).path("snapshot").path("id").asText();
        awaitStatus("/volume/v3/snapshots/" + snapshot, "snapshot", "available");

        // A second server boots from the same volume and finds the token; it writes another, and a data
        // volume attached to it gets a token of its own.
        String second = create(A, "--volume", root, "--user-data", script(ON_ATTACH + """
                echo "READ-ROOT $(cat /root-token)"
                write() { echo DATA-TOKEN-XYZ | dd of=/dev/$1 conv=fsync 2>/dev/null; echo "WROTE-DATA $1"; }
                on_attach write
                echo ROOT-TOKEN-TWO >/root-token; sync; echo WROTE-ROOT-TWO
                """ + READ_ROOT), "bfv-2");
        admin.awaitServer(second, "ACTIVE", WAIT);
        String out = guests.awaitConsole(second, "WROTE-ROOT-TWO", WAIT);
        assertThat(out).contains("READ-ROOT ROOT-TOKEN-ONE");

        String data = newVolume(1);
        attach(second, data);
        guests.awaitConsole(second, "WROTE-DATA vd", WAIT);
        assertThat(refusal(Map.of("name", "x", "flavorRef", "v1", "imageRef", image(), "block_device_mapping_v2",
                List.of(Map.of("uuid", data, "source_type", "volume", "destination_type", "volume")))))
                .isEqualTo("Invalid volume: volume '" + data + "' status must be 'available'. Currently in 'in-use'");
        assertThat(admin.call("DELETE", "/compute/v2.1/servers/" + second + "/os-volume_attachments/" + data, null)
                .status()).isEqualTo(202);
        awaitVolume(data, "available");

        // The server booted from its volume moves: live to B (no disk copied: the target opens the same
        // export), then cold back to A (booted again from the volume there); its guest reads its root
        // disk's token after each, its page cache dropped first.
        RootRead beforeMoves = awaitRootRead(second, r -> true);
        moveAction(second, Map.of("os-migrateLive", Map.of("host", B, "block_migration", "auto")), 202);
        assertThat(admin.awaitServer(second, "ACTIVE", WAIT).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(B);
        RootRead arrived = latestRootRead(second);
        RootRead readOnB = awaitRootRead(second, r -> r.boot().equals(beforeMoves.boot()) && r.n() > arrived.n());
        assertThat(volume(root).path("attachments").path(0).path("host_name").asText()).isEqualTo(B);
        moveAction(second, Collections.singletonMap("migrate", null), 202);
        assertThat(admin.awaitServer(second, "VERIFY_RESIZE", WAIT).path("OS-EXT-SRV-ATTR:host").asText())
                .isEqualTo(A);
        moveAction(second, Collections.singletonMap("confirmResize", null), 204);
        admin.awaitServer(second, "ACTIVE", WAIT);
        RootRead backOnA = awaitRootRead(second, r -> !r.boot().equals(beforeMoves.boot()));
        assertThat(volume(root).path("status").asText()).isEqualTo("in-use");
        System.out.printf("volume-backed server %s: live A -> B (read %d after read %d), cold back to A (read %d,"
                + " boot %s)%n", second, readOnB.n(), arrived.n(), backOnA.n(), backOnA.boot());

        // Its image (Nova's snapshot_volume_backed): no data, only its root volume's snapshot, named in
        // its block_device_mapping; the server on B below boots from it, its root a volume made from that.
        Api.Reply imaged = admin.call("POST", "/compute/v2.1/servers/" + second + "/action", Map.of("createImage",
                Map.of("name", "bfv-2-image")));
        assertThat(imaged.status()).as(imaged.body().toString()).isEqualTo(202);
        String location = imaged.raw().headers().firstValue("Location").orElseThrow();
        String savedImage = location.substring(location.lastIndexOf('/') + 1);
        JsonNode saved = JSON.readTree(cloud.openstack("image", "show", savedImage, "-f", "json"));
        assertThat(saved.path("status").asText()).isEqualTo("active");
        assertThat(saved.path("size").asLong()).isZero();
        assertThat(saved.path("properties").toString()).contains("block_device_mapping").contains("bdm_v2");
        awaitSnapshotsOf("bfv-2-image");

        // The data volume on a server of the other host: its guest reads the token. That server also
        // gets a scratch volume at boot, to be deleted with it (delete_on_termination).
        String scratch = newVolume(1);
        String third = create(B, "--image", savedImage, "--block-device-mapping", "vdb=" + scratch + ":volume::true",
                "--user-data", script(ON_ATTACH + """
                read_token() { echo "READ-DATA $(head -c 14 /dev/$1)"; }
                on_attach read_token
                echo THIRD-UP
                """), "on-b");
        JsonNode onB = admin.awaitServer(third, "ACTIVE", WAIT);
        assertThat(onB.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(B);
        List<String> thirdsVolumes = onB.path("os-extended-volumes:volumes_attached").findValuesAsText("id");
        assertThat(thirdsVolumes).as("its root, made from the image's snapshot, and the scratch volume").hasSize(2)
                .contains(scratch).doesNotContain(root);
        assertThat(volume(scratch).path("status").asText()).isEqualTo("in-use");
        guests.awaitConsole(third, "THIRD-UP", WAIT);
        // Its root holds what the second server's did: its reader (in the root's inittab) reads the token.
        awaitRootRead(third, r -> true);
        attach(third, data);
        guests.awaitConsole(third, "READ-DATA DATA-TOKEN-XYZ", WAIT);

        // The snapshot holds the first state: a volume made from it, read back through the Image API.
        String restored = admin.ok("POST", "/volume/v3/volumes", Map.of("volume", Map.of("snapshot_id", snapshot,
                "name", "restored"))).path("volume").path("id").asText();
        awaitVolume(restored, "available");
        String bytes = uploaded(restored);
        assertThat(bytes).contains("ROOT-TOKEN-ONE").doesNotContain("ROOT-TOKEN-TWO");

        // The server on B goes: its scratch volume with it, the data volume is free again.
        deleteServer(third);
        awaitVolume(data, "available");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (admin.call("GET", "/volume/v3/volumes/" + scratch, null).status() != 404) {
            assertThat(System.nanoTime()).as("scratch volume " + scratch + " deleted in time").isLessThan(deadline);
            Api.pause();
        }
    }

    /**
     * A guest's reads of its root disk's token, one every 2 s from each boot on (busybox init runs
     * the reader, which the script puts in its inittab, so a boot after a cold move reads too): its
     * boot's id, a counter, and what it read after dropping its page cache.
     */
    private static final String READ_ROOT = """
            cat >/etc/read-root.sh <<'EOF'
            #!/bin/sh
            boot=$(cat /proc/sys/kernel/random/boot_id); i=0
            while :; do
              echo 3 >/proc/sys/vm/drop_caches
              echo "ROOT-READ $boot $i [$(cat /root-token)]"; i=$((i + 1)); sleep 2
            done
            EOF
            chmod 0755 /etc/read-root.sh
            echo '::once:/etc/read-root.sh' >>/etc/inittab; sync
            """;
    private static final Pattern ROOT_READ = Pattern.compile("ROOT-READ (\\S+) (\\d+) \\[([^\\]]*)\\]");

    /** One read of {@link #READ_ROOT}. */
    private record RootRead(String boot, int n) {
    }

    /** The guest's last read of its root token so far (it reads every 2 s, so one comes soon). */
    private RootRead latestRootRead(String server) throws InterruptedException {
        return awaitRootRead(server, r -> true);
    }

    /** Waits for a last read that {@code wanted} takes; it must have read the second server's token. */
    private RootRead awaitRootRead(String server, Predicate<RootRead> wanted) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = guests.console(server);
            Matcher m = ROOT_READ.matcher(out);
            RootRead last = null;
            String seen = null;
            while (m.find()) {
                last = new RootRead(m.group(1), Integer.parseInt(m.group(2)));
                seen = m.group(3);
            }
            if (last != null && wanted.test(last)) {
                assertThat(seen).as("read %s of its root disk: %s", last, out).isEqualTo("ROOT-TOKEN-TWO");
                return last;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("server " + server + " did not read its root disk as waited for; console:\n" + out);
    }

    /** Waits until the volume snapshots Nova's createImage made for image {@code imageName} are available. */
    private void awaitSnapshotsOf(String imageName) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = admin.ok("GET", "/volume/v3/snapshots/detail", null).path("snapshots");
            List<String> statuses = new ArrayList<>();
            last.forEach(sn -> {
                if (sn.path("name").asText().equals("snapshot for " + imageName)) {
                    statuses.add(sn.path("status").asText());
                }
            });
            if (!statuses.isEmpty() && statuses.stream().allMatch("available"::equals)) {
                return;
            }
            Api.pause();
        }
        throw new AssertionError("the snapshots of image " + imageName + " are not available: " + last);
    }

    /** A server action answered as Nova answers it ({@code status}: 202, or confirmResize's 204). */
    private void moveAction(String server, Map<String, Object> action, int status) {
        Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + server + "/action", action);
        assertThat(r.status()).as(action + ": " + r.body()).isEqualTo(status);
    }

    /** Nova's message of a create it refuses with 400. */
    private String refusal(Map<String, Object> server) {
        Api.Reply r = admin.call("POST", "/compute/v2.1/servers", Map.of("server", server));
        assertThat(r.status()).as("create " + server + ": " + r.body()).isEqualTo(400);
        return r.message();
    }

    // ---------------------------------------------------------------- helpers

    /** A server made with Debian's openstack client on {@code host} (the other host disabled meanwhile). */
    private String create(String host, String... args) throws Exception {
        String other = host.equals(A) ? B : A;
        admin.switchHost(other, false);
        try {
            List<String> cmd = new ArrayList<>(List.of("server", "create", "--flavor", "v1", "--config-drive",
                    "true", "-f", "json"));
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--user-data")) {
                    Path file = cloud.dir.resolve("user-data-" + System.nanoTime() + ".sh");
                    Files.writeString(file, args[++i]);
                    cmd.addAll(List.of("--user-data", file.toString()));
                } else {
                    cmd.add(args[i]);
                }
            }
            String id = JSON.readTree(cloud.openstack(cmd.toArray(String[]::new))).path("id").asText();
            servers.add(id);
            // Placed (or failed) before the other host comes back.
            admin.awaitServer(id, "ACTIVE", WAIT);
            return id;
        } finally {
            admin.switchHost(other, true);
        }
    }

    private void deleteServer(String id) {
        admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        admin.awaitGone(id, WAIT);
        servers.remove(id);
    }

    private String image() throws Exception {
        return cloud.openstack("image", "show", "vol-small", "-f", "value", "-c", "id").strip();
    }

    private String newVolume(int gb) {
        String id = admin.ok("POST", "/volume/v3/volumes", Map.of("volume", Map.of("size", gb, "name", "data")))
                .path("volume").path("id").asText();
        awaitVolume(id, "available");
        return id;
    }

    private void attach(String server, String volume) {
        admin.ok("POST", "/compute/v2.1/servers/" + server + "/os-volume_attachments", Map.of("volumeAttachment",
                Map.of("volumeId", volume)));
        awaitVolume(volume, "in-use");
    }

    private JsonNode volume(String id) {
        return admin.ok("GET", "/volume/v3/volumes/" + id, null).path("volume");
    }

    private void awaitVolume(String id, String status) {
        awaitStatus("/volume/v3/volumes/" + id, "volume", status);
    }

    private void awaitStatus(String path, String key, String status) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = admin.ok("GET", path, null).path(key);
            if (last.path("status").asText().equals(status)) {
                return;
            }
            Api.pause();
        }
        throw new AssertionError(path + " is not " + status + " after " + WAIT + ": " + last);
    }

    /** The volume's data, uploaded as a qcow2 image and downloaded through the Image API (as text). */
    private String uploaded(String volume) throws Exception {
        String image = admin.ok("POST", "/volume/v3/volumes/" + volume + "/action", Map.of("os-volume_upload_image",
                Map.of("image_name", "restored-" + volume, "disk_format", "qcow2", "container_format", "bare")))
                .path("os-volume_upload_image").path("image_id").asText();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!cloud.openstack("image", "show", image, "-f", "value", "-c", "status").strip().equals("active")) {
            assertThat(System.nanoTime()).as("image " + image + " active in time").isLessThan(deadline);
            Thread.sleep(500);
        }
        Path file = cloud.dir.resolve("restored.qcow2");
        cloud.openstack("image", "save", "--file", file.toString(), image);
        return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    }

    private static String script(String body) {
        return "#!/bin/sh\n" + body + (body.endsWith("\n") ? "" : "\n");
    }
}
