package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.local.HostNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

/**
 * Cloud images end to end, as a tenant uses them with Debian's {@code openstack} client: whole-disk
 * images (the kit's small busybox image and a real Debian 12 image with cloud-init) booted by the
 * qemu driver on an agent in a namespace of its own, their identity from the metadata service or a
 * config drive, the tenant's key and user data, and {@code ssh} into them from the network's DHCP
 * namespace (the only place on the host with a leg on a tenant network without a router).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CloudImagesIT {
    private static final Duration WAIT = Duration.ofSeconds(150);
    /** cloud-init in a whole Debian under emulation: a systemd boot, Python, host keys. */
    private static final Duration DEBIAN_WAIT = Duration.ofSeconds(420);
    private static final String HOST = "ci-one";
    private static final String CIDR = "10.70.0.0/24";
    /**
     * The keys of Nova 26's {@code meta_data.json} (nova/api/metadata/base.py,
     * {@code InstanceMetadata._metadata_as_json} for the newest version) that every instance booted
     * with a key has; {@code meta} comes only with server metadata, {@code admin_pass} only on a
     * config drive.
     */
    private static final List<String> NOVA_META_DATA_KEYS = List.of("availability_zone", "devices",
            "dedicated_cpus", "hostname", "keys", "launch_index", "name", "project_id", "public_keys",
            "random_seed", "uuid");
    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalCloud cloud;
    private Path key;
    private GuestAccess guests;
    private String network;
    private String debianFromService;
    private String debianFromDrive;
    private final List<String> servers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "servers on a tenant network reached over ssh need network namespaces:"
                + " root and iproute2");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-cloud-images-it-"), "images", Map.of(), true);
        cloud.agentIn(5, HOST, 4096, Map.of("stratus.agent.driver", "qemu"));
        cloud.awaitHostsUp(HOST);
        cloud.openstack("image", "create", "--public", "--disk-format", "qcow2", "--container-format", "bare",
                "--file", GuestKit.file("cloud-small.qcow2").toString(), "cloud-small");
        cloud.openstack("image", "create", "--public", "--disk-format", "qcow2", "--container-format", "bare",
                "--min-ram", "512", "--file", GuestKit.file("debian-12.qcow2").toString(), "debian-12");
        cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", "c1");
        cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "768", "--disk", "3", "d1");
        cloud.tenant("images", "carol", "carol-secret", "member");
        key = cloud.dir.resolve("carol-key");
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "carol@test", "-f", key.toString());
        guests = new GuestAccess(cloud.admin, key);
        carol("keypair", "create", "--public-key", key + ".pub", "k");
        // Neutron's default group admits only its own members: ssh from the host is the tenant's to allow.
        carol("security", "group", "rule", "create", "--ingress", "--protocol", "tcp", "--dst-port", "22", "default");
        carol("network", "create", "net-c");
        carol("subnet", "create", "--network", "net-c", "--subnet-range", CIDR, "sub-c");
        network = id(carol("network", "show", "net-c", "-f", "json"));
        // Debian's boot under emulation takes about a minute: both start now, so that it overlaps
        // the small image's tests; the Debian test waits for them.
        debianFromService = create("deb-md", "debian-12", "d1", script("echo DEBIAN-USER-DATA-$(hostname)"));
        debianFromDrive = id(carol("server", "create", "--flavor", "d1", "--image", "debian-12", "--key-name", "k",
                "--network", "net-c", "--config-drive", "true", "--user-data",
                write("deb-cd.sh", script("echo DEBIAN-USER-DATA-$(hostname)")).toString(), "-f", "json", "deb-cd"));
        servers.add(debianFromDrive);
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud == null) {
            return;
        }
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        for (String s : servers) {
            // What each guest printed, for a failure's reader.
            Files.writeString(logs.resolve("images-console-" + s + ".log"), cloud.admin.call("POST",
                    "/compute/v2.1/servers/" + s + "/action", Map.of("os-getConsoleOutput", Map.of())).body()
                    .path("output").asText());
            cloud.admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        for (String s : servers) {
            cloud.admin.awaitGone(s, WAIT);
        }
        cloud.close();
    }

    @Test
    @Order(1)
    void theSmallImageTakesKeyAndUserDataFromTheMetadataServiceAndCannotReadAnothersMetadata() throws Exception {
        // The peer first: the tenant's user data below tries to pass for it.
        String peer = create("peer", "cloud-small", "c1", script("echo PEER-UP"));
        JsonNode peerShown = cloud.admin.awaitServer(peer, "ACTIVE", WAIT);
        String peerIp = address(peerShown);
        String ud = script("""
                echo "USER-DATA-RAN on $(hostname)"
                get() { printf "GET $1 HTTP/1.0\\r\\n$2\\r\\n" | nc 169.254.169.254 80 | tr -d '\\r' | sed '1,/^$/d'; }
                get /openstack/latest/meta_data.json >/tmp/meta.json
                # In lines of a bounded length: the test joins them again.
                echo "META-JSON-BEGIN $(wc -c </tmp/meta.json)"; fold -w 100 /tmp/meta.json; echo; echo "META-JSON-END"
                echo "SPOOFED $(get /latest/meta-data/instance-id "X-Instance-ID: %s\\r\\nX-Forwarded-For: %s\\r\\nX-Neutron-Network-ID: nope\\r\\n")"
                """.formatted(peer, peerIp));
        String small = create("small", "cloud-small", "c1", ud);
        JsonNode shown = cloud.admin.awaitServer(small, "ACTIVE", WAIT);
        // The ssh server starts after the user data ran: its marker is the last.
        String out = awaitConsole(small, "STRATUS-SSH-READY", WAIT);
        // The EC2 layout's instance-id, which the small image reads: Nova's i-<8 hex digits>.
        assertThat(out).contains("STRATUS-IDENTITY source=metadata-service instance=" + ec2Id(small))
                .contains("STRATUS-KEYS-INSTALLED 1").contains("USER-DATA-RAN on small")
                .contains("STRATUS-USER-DATA-END rc=0");
        assertThat(line(out, "SPOOFED")).as("headers a guest sends name no other instance")
                .isEqualTo("SPOOFED " + ec2Id(small));

        String folded = between(out, "META-JSON-BEGIN", "META-JSON-END");
        String json = folded.substring(folded.indexOf('\n') + 1).replaceAll("\r?\n", "");
        assertThat(json).hasSize(Integer.parseInt(folded.substring(0, folded.indexOf('\n')).trim()));
        JsonNode meta = JSON.readTree(json);
        assertThat(fieldNames(meta)).as("Nova's meta_data.json layout")
                .containsExactlyInAnyOrderElementsOf(NOVA_META_DATA_KEYS);
        assertThat(meta.path("uuid").asText()).isEqualTo(small);
        assertThat(meta.path("public_keys").path("k").asText()).startsWith("ssh-ed25519 ");

        assertThat(awaitSsh("root", address(shown), "hostname; cat /root/.ssh/authorized_keys", WAIT).trim())
                .startsWith("small").contains("carol@test");
        JsonNode show = JSON.readTree(carol("server", "show", small, "-f", "json"));
        assertThat(show.path("key_name").asText()).isEqualTo("k");
        assertThat(show.path("config_drive").asText()).isEmpty();
        assertThat(awaitConsole(peer, "PEER-UP", WAIT)).contains("source=metadata-service instance=" + ec2Id(peer));
    }

    @Test
    @Order(2)
    void theSmallImageReadsItsConfigDrive() throws Exception {
        String id = id(carol("server", "create", "--flavor", "c1", "--image", "cloud-small", "--key-name", "k",
                "--network", "net-c", "--config-drive", "true", "--user-data",
                write("drive.sh", script("echo FROM-THE-DRIVE")).toString(), "--property", "role=drive", "-f", "json",
                "drive"));
        servers.add(id);
        JsonNode shown = cloud.admin.awaitServer(id, "ACTIVE", WAIT);
        String out = awaitConsole(id, "STRATUS-SSH-READY", WAIT);
        assertThat(out).contains("STRATUS-IDENTITY source=config-drive instance=" + id).contains("FROM-THE-DRIVE")
                .contains("STRATUS-USER-DATA-END rc=0");
        assertThat(awaitSsh("root", address(shown), "mount | grep -c iso9660 || true; hostname", WAIT).trim())
                .endsWith("drive");
        assertThat(JSON.readTree(carol("server", "show", id, "-f", "json")).path("config_drive").asText())
                .isEqualTo("True");
    }

    @Test
    @Order(3)
    void debianWithCloudInitTakesKeyAndUserDataFromTheMetadataServiceAndFromAConfigDrive() throws Exception {
        assumeTrue(debianFromService != null, "the Debian servers were not made");
        String fromService = debianFromService;
        String fromDrive = debianFromDrive;
        for (String id : List.of(fromService, fromDrive)) {
            JsonNode shown = cloud.admin.awaitServer(id, "ACTIVE", WAIT);
            String name = shown.path("name").asText();
            awaitConsole(id, "DEBIAN-USER-DATA-" + name, DEBIAN_WAIT);
            String release = awaitSsh("debian", address(shown), "cat /etc/os-release; sudo -n true && echo SUDO-OK",
                    DEBIAN_WAIT);
            assertThat(release).contains("bookworm").contains("SUDO-OK");
        }
        // cloud-init says where it found the instance: "config-disk (/dev/vdb)" or "metadata (http://…)".
        assertThat(awaitSsh("debian", address(cloud.admin.awaitServer(fromDrive, "ACTIVE", WAIT)),
                "cat /run/cloud-init/instance-data.json", WAIT)).contains("\"subplatform\": \"config-disk");
        assertThat(awaitSsh("debian", address(cloud.admin.awaitServer(fromService, "ACTIVE", WAIT)),
                "cat /run/cloud-init/instance-data.json", WAIT))
                .contains("\"subplatform\": \"metadata (http://169.254.169.254)");
    }

    @Test
    @Order(4)
    void disksThatCannotBootFailWithAClearFaultAndLeaveNothingBehind() throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put(upload("no-kernel", diskWith(false, true)), "vmlinuz");
        expected.put(upload("bad-table", corruptTable()), "partition");
        expected.put(upload("unknown-fs", diskWith(false, false)), "filesystem");
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String id = id(carol("server", "create", "--flavor", "c1", "--image", e.getKey(), "--network", "net-c",
                    "-f", "json", "bad-" + e.getKey().substring(0, 8)));
            servers.add(id);
            JsonNode s = cloud.admin.awaitServer(id, "ERROR", WAIT);
            assertThat(s.path("fault").path("message").asText()).as("fault of " + e.getKey())
                    .containsIgnoringCase(e.getValue());
            assertThat(cloud.dir.resolve(HOST).resolve("instances").resolve(id)).as("instance directory of " + id)
                    .doesNotExist();
        }
    }

    // ---------------------------------------------------------------- images made here

    /**
     * A GPT disk with one partition: an ext4 filesystem holding an empty /boot when {@code ext4}, else
     * bytes no tool recognises.
     */
    private Path diskWith(boolean kernel, boolean ext4) throws Exception {
        Path disk = cloud.dir.resolve("disk-" + System.nanoTime() + ".raw");
        run("truncate", "-s", "16M", disk.toString());
        run("sh", "-c", "echo 'label: gpt\nstart=2048, type=L' | sfdisk -q " + disk);
        if (ext4) {
            Path root = Files.createDirectories(cloud.dir.resolve("root-" + System.nanoTime()).resolve("boot"))
                    .getParent();
            if (kernel) {
                Files.copy(GuestKit.file("stock/bzImage"), root.resolve("boot/vmlinuz"));
            }
            run("mkfs.ext4", "-q", "-F", "-d", root.toString(), "-E", "offset=" + 2048 * 512, disk.toString(), "8M");
        } else {
            run("dd", "if=/dev/urandom", "of=" + disk, "bs=512", "seek=2048", "count=2048", "conv=notrunc",
                    "status=none");
        }
        return disk;
    }

    /** A GPT disk whose header was overwritten after the table was written: its CRC no longer holds. */
    private Path corruptTable() throws Exception {
        Path disk = diskWith(false, true);
        run("dd", "if=/dev/urandom", "of=" + disk, "bs=1", "seek=" + (512 + 24), "count=16", "conv=notrunc",
                "status=none");
        run("dd", "if=/dev/zero", "of=" + disk, "bs=512", "seek=" + (32 * 1024 - 1), "count=1", "conv=notrunc",
                "status=none");
        return disk;
    }

    private String upload(String name, Path file) throws Exception {
        return id(cloud.openstack("image", "create", "--public", "--disk-format", "raw", "--container-format", "bare",
                "--file", file.toString(), "-f", "json", name));
    }

    // ---------------------------------------------------------------- helpers

    private String create(String name, String image, String flavor, String userData) throws Exception {
        String id = id(carol("server", "create", "--flavor", flavor, "--image", image, "--key-name", "k", "--network",
                "net-c", "--user-data", write(name + ".sh", userData).toString(), "-f", "json", name));
        servers.add(id);
        return id;
    }

    private static String ec2Id(String uuid) {
        return "i-" + uuid.substring(0, 8);
    }

    private static String script(String body) {
        return "#!/bin/sh\n" + body + (body.endsWith("\n") ? "" : "\n");
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(cloud.dir.resolve(name), content);
    }

    private String carol(String... args) throws Exception {
        return cloud.openstackAs("carol", "carol-secret", "images", args);
    }

    private static String id(String printed) throws IOException {
        return JSON.readTree(printed).path("id").asText();
    }

    private String address(JsonNode server) {
        return server.path("addresses").path("net-c").path(0).path("addr").asText();
    }

    private String ssh(String user, String ip, String command) throws Exception {
        return guests.ssh(HOST + "-qdhcp-" + network, user, ip, command);
    }

    private String awaitSsh(String user, String ip, String command, Duration limit) throws Exception {
        return guests.awaitSsh(HOST + "-qdhcp-" + network, user, ip, command, limit);
    }

    private String awaitConsole(String server, String text, Duration limit) throws InterruptedException {
        return guests.awaitConsole(server, text, limit);
    }

    private static String line(String out, String prefix) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(prefix) + ".*$").matcher(out);
        return m.find() ? m.group().strip() : "";
    }

    private static String between(String out, String begin, String end) {
        int b = out.indexOf(begin);
        int e = out.indexOf(end, b);
        assertThat(b).as(begin + " on the console").isNotNegative();
        return out.substring(b + begin.length(), e).strip();
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        return GuestAccess.run(cmd);
    }
}
