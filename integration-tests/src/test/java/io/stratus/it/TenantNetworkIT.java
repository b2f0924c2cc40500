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
import java.nio.file.attribute.PosixFilePermissions;
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
 * Tenant networks end to end: two agents in network namespaces of their own (two hosts), the
 * qemu driver booting the kit's Linux, the networks, ports and security groups made with Debian's
 * {@code openstack} client. The guests find their addresses by DHCP and then probe their peers
 * in rounds (ping, and a TCP fetch from the busybox httpd each serves on port 8080), printing what
 * answered and the round on their consoles: the test reads reachability from there, as a tenant would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TenantNetworkIT {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final String A_IP = "10.50.0.10";
    private static final String B_IP = "10.50.0.11";
    private static final String C_IP = "10.60.0.10";
    /** What the guests run: wait for an address, serve TCP, then probe every peer each second. */
    private static final String PROBE = """
            #!/bin/sh
            while ! ip -4 addr show eth0 | grep -q inet; do sleep 1; done
            mkdir -p /tmp/www
            ip -4 -o addr show eth0 >/tmp/www/id
            httpd -p 8080 -h /tmp/www
            round=0
            while :; do
              round=$((round + 1))
              for p in $(cat /mnt/peers); do
                if ping -c 1 -W 1 "$p" >/dev/null 2>&1; then r=OK; else r=FAIL; fi
                echo "PING $p $r $round"
                # busybox's wget needs the C library's name service, which a static busybox lacks: nc.
                if printf 'GET /id HTTP/1.0\r\n\r\n' | nc -w 2 "$p" 8080 2>/dev/null | grep -q "inet $p/"; then
                  r=OK
                else
                  r=FAIL
                fi
                echo "TCP $p $r $round"
              done
              sleep 1
            done
            """;
    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalCloud cloud;
    private final List<String> servers = new ArrayList<>();
    private final List<String> networks = new ArrayList<>();
    private String a;
    private String b;
    private String c;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "tenant networks between two hosts need network namespaces: root and"
                + " iproute2");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-network-it-"), "network", Map.of(), true);
        Map<String, String> qemu = Map.of("stratus.agent.driver", "qemu");
        cloud.agentIn(1, "n-one", 2048, qemu);
        cloud.agentIn(2, "n-two", 2048, qemu);
        cloud.awaitHostsUp("n-one", "n-two");
        Api images = cloud.admin.at(cloud.imageBase());
        String kernel = upload(images, Map.of("name", "net-kernel", "disk_format", "aki", "container_format", "aki"),
                GuestKit.file("test-kernel/vmlinux"));
        String ramdisk = upload(images, Map.of("name", "net-initramfs", "disk_format", "ari", "container_format",
                "ari"), GuestKit.file("initramfs.cpio"));
        upload(images, Map.of("name", "probe", "disk_format", "raw", "container_format", "bare", "kernel_id", kernel,
                "ramdisk_id", ramdisk, "os_command_line", "panic=-1 stratus.run=/mnt/probe.sh"), probeDisk());
        cloud.admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "n1", "id", "n1", "vcpus", 1,
                "ram", 96, "disk", 0)));
        cloud.tenant("net-a", "alice", "alice-secret", "member");
        cloud.tenant("net-b", "bob", "bob-secret", "member");
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    /** An ext4 disk with the probe script and the peers it probes. */
    private Path probeDisk() throws IOException, InterruptedException {
        Path root = Files.createDirectories(cloud.dir.resolve("probe-root"));
        Path script = root.resolve("probe.sh");
        Files.writeString(script, PROBE);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(root.resolve("peers"), String.join(" ", A_IP, B_IP, C_IP) + "\n");
        Path disk = cloud.dir.resolve("probe.img");
        run("mkfs.ext4", "-q", "-F", "-d", root.toString(), disk.toString(), "8M");
        return disk;
    }

    private static String upload(Api images, Map<String, Object> fields, Path file) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>(fields);
        body.put("visibility", "public");
        String id = images.ok("POST", "/image/v2/images", body).path("id").asText();
        assertThat(images.upload(id, file).status()).isEqualTo(204);
        return id;
    }

    private String alice(String... args) throws Exception {
        return cloud.openstackAs("alice", "alice-secret", "net-a", args);
    }

    private String bob(String... args) throws Exception {
        return cloud.openstackAs("bob", "bob-secret", "net-b", args);
    }

    private static String id(String printed) throws IOException {
        return JSON.readTree(printed).path("id").asText();
    }

    @Test
    @Order(1)
    void serversOnTwoHostsGetTheirAddressesByDhcpAndReachEachOtherAsTheirGroupsAllow() throws Exception {
        alice("network", "create", "net-a");
        alice("subnet", "create", "--network", "net-a", "--subnet-range", "10.50.0.0/24", "sub-a");
        alice("security", "group", "create", "sg-a");
        alice("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", "sg-a");
        alice("security", "group", "create", "sg-b");
        alice("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", "sg-b");
        alice("port", "create", "--network", "net-a", "--fixed-ip", "subnet=sub-a,ip-address=" + B_IP,
                "--security-group", "sg-b", "port-b");
        String group = id(alice("server", "group", "create", "--policy", "anti-affinity", "apart", "-f", "json"));
        String netA = id(alice("network", "show", "net-a", "-f", "json"));
        networks.add(netA);
        a = id(alice("server", "create", "--flavor", "n1", "--image", "probe", "--nic",
                "net-id=" + netA + ",v4-fixed-ip=" + A_IP, "--security-group", "sg-a", "--hint", "group=" + group,
                "-f", "json", "a"));
        servers.add(a);
        b = id(alice("server", "create", "--flavor", "n1", "--image", "probe", "--port", "port-b", "--hint",
                "group=" + group, "-f", "json", "b"));
        servers.add(b);
        bob("network", "create", "net-b");
        bob("subnet", "create", "--network", "net-b", "--subnet-range", "10.60.0.0/24", "--allocation-pool",
                "start=" + C_IP + ",end=10.60.0.20", "sub-b");
        String netB = id(bob("network", "show", "net-b", "-f", "json"));
        networks.add(netB);
        // Nova makes c's port: the first free address of the pool, before the network's DHCP port takes one.
        c = id(bob("server", "create", "--flavor", "n1", "--image", "probe", "--network", "net-b", "-f", "json",
                "c"));
        servers.add(c);
        for (String s : servers) {
            cloud.admin.awaitServer(s, "ACTIVE", WAIT);
        }
        String hostA = host(a);
        String hostB = host(b);
        assertThat(hostA).as("the anti-affinity group puts a and b on different hosts").isNotEqualTo(hostB);

        // The network's MTU (VXLAN's 50 bytes less than 1500) comes with the lease: full-size
        // frames would otherwise be dropped by the bridge.
        awaitConsole(a, "STRATUS-NET-UP eth0 " + A_IP + "/24 mtu 1450");
        awaitConsole(b, "STRATUS-NET-UP eth0 " + B_IP + "/24");
        awaitConsole(c, "STRATUS-NET-UP eth0 " + C_IP + "/24");
        assertThat(alice("server", "show", a, "-c", "addresses", "-f", "value")).contains("net-a").contains(A_IP);
        JsonNode addresses = cloud.admin.ok("GET", "/compute/v2.1/servers/" + b, null).path("server")
                .path("addresses").path("net-a").path(0);
        assertThat(addresses.path("addr").asText()).isEqualTo(B_IP);
        assertThat(addresses.path("OS-EXT-IPS:type").asText()).isEqualTo("fixed");
        assertThat(addresses.path("OS-EXT-IPS-MAC:mac_addr").asText()).matches("fa:16:3e(:[0-9a-f]{2}){3}");

        // Across the two hosts, over VXLAN: each group lets ICMP in.
        awaitProbe(a, "PING", B_IP, "OK");
        awaitProbe(b, "PING", A_IP, "OK");
        // sg-b has no rule for TCP: a's fetches from b's port 8080 stay unanswered.
        assertThat(probesAfter(a, "TCP", B_IP, 3)).as("b's TCP port before a rule opens it").containsOnly("FAIL");
        // Another project's network is another segment: nothing crosses.
        assertThat(probesAfter(c, "PING", A_IP, 3)).as("c to a").containsOnly("FAIL");
        assertThat(probesAfter(a, "PING", C_IP, 3)).as("a to c").containsOnly("FAIL");

        alice("security", "group", "rule", "create", "--ingress", "--protocol", "tcp", "--dst-port", "8080",
                "--remote-group", "sg-a", "sg-b");
        awaitProbe(a, "TCP", B_IP, "OK");
        // The rule admits sg-a's members only: b's own group is not among them for a's port.
        assertThat(probesAfter(b, "TCP", A_IP, 3)).as("a's TCP port, closed by sg-a").containsOnly("FAIL");
    }

    @Test
    @Order(2)
    void aServerMovedToTheOtherHostKeepsItsPortAndGetsItsAddressThere() throws Exception {
        assumeTrue(c != null, "the servers of the first test were not made");
        String from = host(c);
        cloud.openstack("server", "migrate", c);
        cloud.admin.awaitServer(c, "VERIFY_RESIZE", WAIT);
        cloud.openstack("server", "resize", "confirm", c);
        cloud.admin.awaitServer(c, "ACTIVE", WAIT);
        assertThat(host(c)).isNotEqualTo(from);
        // The guest booted again on the new host: that host's DHCP server knows its port now.
        awaitConsole(c, "STRATUS-NET-UP eth0 " + C_IP + "/24");
        String port = bob("port", "list", "--server", c, "-c", "ID", "-f", "value").trim();
        assertThat(cloud.openstack("port", "show", port, "-c", "binding_host_id", "-f", "value").trim())
                .as("the port is bound where the server runs").isEqualTo(host(c));
        assertThat(probesAfter(c, "PING", A_IP, 2)).as("still another project's segment").containsOnly("FAIL");
    }

    @Test
    @Order(3)
    void deletingTheServersLeavesNothingBehindOnTheHosts() throws Exception {
        assumeTrue(a != null, "the servers of the first test were not made");
        for (String s : servers) {
            cloud.admin.ok("DELETE", "/compute/v2.1/servers/" + s, null);
        }
        for (String s : servers) {
            cloud.admin.awaitGone(s, WAIT);
        }
        assertThat(alice("port", "show", "port-b", "-c", "device_id", "-f", "value").trim())
                .as("a port the tenant made outlives its server, unbound").isEmpty();
        for (String ns : List.of(cloud.namespace(1), cloud.namespace(2))) {
            awaitClean(ns);
        }
    }

    /** No TAP, bridge, tunnel, DHCP namespace or server, port filter or FDB entry is left in {@code ns}. */
    private void awaitClean(String ns) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<String> left = List.of();
        while (System.nanoTime() < deadline) {
            left = leftovers(ns);
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("host namespace " + ns + " still has " + left);
    }

    private List<String> leftovers(String ns) throws Exception {
        List<String> left = new ArrayList<>();
        for (String line : run("ip", "-n", ns, "-o", "link", "show").split("\n")) {
            Matcher m = Pattern.compile("^\\d+: ([^:@]+)").matcher(line);
            if (m.find() && m.group(1).matches("(tap|brq|vxlan-|ns-).*")) {
                left.add("link " + m.group(1));
            }
        }
        for (String line : run("ip", "netns", "exec", ns, "bridge", "fdb", "show").split("\n")) {
            if (line.contains(" dst ")) {
                left.add("fdb " + line.trim());
            }
        }
        String rules = run("ip", "netns", "exec", ns, "nft", "list", "ruleset");
        for (String port : List.of(A_IP, B_IP, C_IP)) {
            if (rules.contains(port)) {
                left.add("nftables rule for " + port);
            }
        }
        for (String network : networks) {
            for (String line : run("ip", "netns", "list").split("\n")) {
                if (line.contains(network)) {
                    left.add("namespace " + line.trim());
                }
            }
            for (String line : run("pgrep", "-a", "dnsmasq").split("\n")) {
                if (line.contains(network)) {
                    left.add("dnsmasq " + line.trim());
                }
            }
        }
        return left;
    }

    private String host(String server) {
        return cloud.admin.ok("GET", "/compute/v2.1/servers/" + server, null).path("server")
                .path("OS-EXT-SRV-ATTR:host").asText();
    }

    private String console(String server) {
        return cloud.admin.ok("POST", "/compute/v2.1/servers/" + server + "/action",
                Map.of("os-getConsoleOutput", Map.of())).path("output").asText();
    }

    private void awaitConsole(String server, String text) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = console(server);
            if (out.contains(text)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + server + " never printed '" + text + "'; console:\n" + out);
    }

    /** Waits until the newest {@code kind} probe of {@code peer} on the server's console says {@code result}. */
    private void awaitProbe(String server, String kind, String peer, String result) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = console(server);
            List<Probe> all = probes(out, kind, peer);
            if (!all.isEmpty() && all.get(all.size() - 1).result().equals(result)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + server + ": " + kind + " " + peer + " never " + result + "; console:\n"
                + out);
    }

    /** The results of the server's next {@code count} rounds of {@code kind} probes of {@code peer}. */
    private List<String> probesAfter(String server, String kind, String peer, int count) throws InterruptedException {
        List<Probe> before = probes(console(server), kind, peer);
        long from = before.isEmpty() ? 0 : before.get(before.size() - 1).round();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> results = List.of();
        while (System.nanoTime() < deadline) {
            results = probes(console(server), kind, peer).stream().filter(p -> p.round() > from)
                    .map(Probe::result).toList();
            if (results.size() >= count) {
                return results.subList(0, count);
            }
            Thread.sleep(500);
        }
        throw new AssertionError("server " + server + " printed only " + results + " for " + kind + " " + peer
                + " after round " + from);
    }

    private record Probe(String result, long round) {
    }

    private static List<Probe> probes(String console, String kind, String peer) {
        Matcher m = Pattern.compile("(?m)^" + kind + " " + Pattern.quote(peer) + " (OK|FAIL) (\\d+)\r?$")
                .matcher(console);
        List<Probe> out = new ArrayList<>();
        while (m.find()) {
            out.add(new Probe(m.group(1), Long.parseLong(m.group(2))));
        }
        return out;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }
}
