package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.local.HostNetwork;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 * Routers and floating IPs end to end, with Debian's {@code openstack} client: two agents in
 * namespaces of their own (the first runs the routers), an external network on a bridge of this
 * machine, and an "outside" namespace on it. A server of the kit's small cloud image reaches the
 * outside through its router's SNAT, the outside reaches it through a floating IP (ping and ssh)
 * — also after the server live-migrated to the other host — and loses it when the floating IP is
 * disassociated; deleting the router removes its namespace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutersIT {
    private static final Duration WAIT = Duration.ofSeconds(150);
    private static final String L3_HOST = "r-one";
    private static final String OTHER_HOST = "r-two";
    /** A bridge and range of its own: `bin/stratus up` uses stratus-ext0 with 198.18.0.0/24. */
    private static final HostNetwork.ExternalNetwork EXTERNAL = new HostNetwork.ExternalNetwork("stratus-ext1",
            "198.18.1.1/24");
    private static final String OUTSIDE = "rt-outside";
    private static final String OUTSIDE_IP = "198.18.1.2";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalCloud cloud;
    private GuestAccess guests;
    private String network;
    private String router;
    private String server;
    /** A second server on the network, which pings the first while it moves. */
    private String peer;
    private String fixedIp;
    private String floatingIp;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(HostNetwork.available(), "routers between namespaces need root and iproute2");
        cloud = LocalCloud.start(Files.createTempDirectory("stratus-routers-it-"), "routers", Map.of(), true)
                .withOutside(EXTERNAL);
        outside();
        Map<String, String> qemu = Map.of("stratus.agent.driver", "qemu");
        cloud.agentIn(7, L3_HOST, 2048, Map.of("stratus.agent.driver", "qemu", "stratus.agent.network.l3-agent",
                "true"));
        cloud.agentIn(8, OTHER_HOST, 2048, qemu);
        cloud.awaitHostsUp(L3_HOST, OTHER_HOST);
        cloud.openstack("image", "create", "--public", "--disk-format", "qcow2", "--container-format", "bare",
                "--file", GuestKit.file("cloud-small.qcow2").toString(), "cloud-small");
        cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", "r1");
        cloud.openstack("network", "create", "--external", "--provider-network-type", "flat",
                "--provider-physical-network", LocalCloud.PHYSNET, "public");
        cloud.openstack("subnet", "create", "--network", "public", "--subnet-range", EXTERNAL.cidr(), "--gateway",
                EXTERNAL.gateway(), "--no-dhcp", "--allocation-pool", "start=198.18.1.10,end=198.18.1.99",
                "public-subnet");
        cloud.tenant("routers", "dave", "dave-secret", "member");
        Path key = cloud.dir.resolve("dave-key");
        GuestAccess.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dave@test", "-f", key.toString());
        guests = new GuestAccess(cloud.admin, key);
        dave("keypair", "create", "--public-key", key + ".pub", "k");
        dave("security", "group", "rule", "create", "--ingress", "--protocol", "tcp", "--dst-port", "22", "default");
        dave("security", "group", "rule", "create", "--ingress", "--protocol", "icmp", "default");
    }

    /** The outside: a namespace with an address on the external bridge, and nothing else. */
    private static void outside() throws IOException, InterruptedException {
        GuestAccess.succeeds("ip", "netns", "del", OUTSIDE);
        GuestAccess.succeeds("ip", "link", "del", OUTSIDE + "-v");
        GuestAccess.run("ip", "netns", "add", OUTSIDE);
        GuestAccess.run("ip", "link", "add", OUTSIDE + "-v", "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE);
        GuestAccess.run("ip", "link", "set", OUTSIDE + "-v", "master", EXTERNAL.bridge(), "up");
        GuestAccess.run("ip", "-n", OUTSIDE, "addr", "add", OUTSIDE_IP + "/24", "dev", "eth0");
        GuestAccess.run("ip", "-n", OUTSIDE, "link", "set", "eth0", "up");
        GuestAccess.run("ip", "-n", OUTSIDE, "link", "set", "lo", "up");
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud == null) {
            return;
        }
        for (String s : new String[] {server, peer}) {
            if (s != null) {
                Files.writeString(Files.createDirectories(Path.of("target", "it-logs"))
                        .resolve("routers-console-" + s + ".log"), guests.console(s));
                cloud.admin.call("DELETE", "/compute/v2.1/servers/" + s, null);
                cloud.admin.awaitGone(s, WAIT);
            }
        }
        GuestAccess.succeeds("ip", "netns", "del", OUTSIDE);
        cloud.close();
    }

    @Test
    @Order(1)
    void aServerReachesTheOutsideThroughItsRoutersSnat() throws Exception {
        dave("network", "create", "net-r");
        dave("subnet", "create", "--network", "net-r", "--subnet-range", "10.90.0.0/24", "sub-r");
        router = id(dave("router", "create", "-f", "json", "r"));
        assertThatThrownBy(() -> dave("router", "set", "--external-gateway", "net-r", "r"))
                .as("a gateway only on an external network (Neutron: 400)").hasMessageContaining("external");
        dave("router", "set", "--external-gateway", "public", "r");
        dave("router", "add", "subnet", "r", "sub-r");
        network = JSON.readTree(dave("network", "show", "-f", "json", "net-r")).path("id").asText();
        String gateway = JSON.readTree(dave("router", "show", "-f", "json", "r")).path("external_gateway_info")
                .path("external_fixed_ips").path(0).path("ip_address").asText();
        assertThat(gateway).startsWith("198.18.1.");

        server = id(dave("server", "create", "--flavor", "r1", "--image", "cloud-small", "--key-name", "k",
                "--network", "net-r", "-f", "json", "inside"));
        peer = id(dave("server", "create", "--flavor", "r1", "--image", "cloud-small", "--key-name", "k",
                "--network", "net-r", "-f", "json", "peer"));
        JsonNode shown = cloud.admin.awaitServer(server, "ACTIVE", WAIT);
        fixedIp = shown.path("addresses").path("net-r").path(0).path("addr").asText();
        guests.awaitConsole(server, "STRATUS-SSH-READY", WAIT);
        String seen = fromInside(host() + "-qdhcp-" + network, fixedIp);
        assertThat(seen).as("the outside sees the router's gateway address").isEqualTo(gateway + " hello");
    }

    @Test
    @Order(2)
    void theOutsideReachesTheServerThroughItsFloatingIp() throws Exception {
        assumeTrue(server != null, "the server of the first test was not made");
        floatingIp = JSON.readTree(dave("floating", "ip", "create", "-f", "json", "public"))
                .path("floating_ip_address").asText();
        dave("server", "add", "floating", "ip", "inside", floatingIp);
        JsonNode fip = JSON.readTree(dave("floating", "ip", "show", "-f", "json", floatingIp));
        assertThat(fip.path("fixed_ip_address").asText()).isEqualTo(fixedIp);
        assertThat(fip.path("router_id").asText()).isEqualTo(router);
        awaitPing(floatingIp, true);
        assertThat(guests.awaitSsh(OUTSIDE, "root", floatingIp, "hostname", WAIT).trim()).isEqualTo("inside");
        assertThat(fromInside(OUTSIDE, floatingIp)).as("what the server sends leaves with its floating IP")
                .isEqualTo(floatingIp + " hello");
    }

    @Test
    @Order(3)
    void theFloatingIpFollowsItsServerThroughALiveMigration() throws Exception {
        assumeTrue(floatingIp != null, "the floating IP of the second test was not made");
        JsonNode p = cloud.admin.awaitServer(peer, "ACTIVE", WAIT);
        String peerIp = p.path("addresses").path("net-r").path(0).path("addr").asText();
        String peerNamespace = p.path("OS-EXT-SRV-ATTR:host").asText() + "-qdhcp-" + network;
        guests.awaitConsole(peer, "STRATUS-SSH-READY", WAIT);
        // The peer pings the server five times a second through the move (the mover's own ping would pause with it).
        guests.awaitSsh(peerNamespace, "root", peerIp, "setsid ping -i 0.2 " + fixedIp
                + " >/tmp/ping.log 2>&1 </dev/null &", WAIT);
        String from = host();
        long moveStarted = System.nanoTime();
        cloud.admin.ok("POST", "/compute/v2.1/servers/" + server + "/action",
                Map.of("os-migrateLive", Map.of("host", from.equals(L3_HOST) ? OTHER_HOST : L3_HOST,
                        "block_migration", "auto")));
        cloud.admin.awaitServer(server, "ACTIVE", WAIT);
        int moving = (int) (Duration.ofNanos(System.nanoTime() - moveStarted).toMillis() / 200) + 1;
        assertThat(host()).isNotEqualTo(from);
        awaitPing(floatingIp, true);
        assertThat(guests.awaitSsh(OUTSIDE, "root", floatingIp, "hostname", WAIT).trim()).isEqualTo("inside");

        String log = guests.ssh(peerNamespace, "root", peerIp, "kill -INT $(pidof ping); sleep 1; cat /tmp/ping.log");
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received").matcher(log);
        assertThat(m.find()).as("ping's summary: " + log).isTrue();
        int sent = Integer.parseInt(m.group(1));
        int lost = sent - Integer.parseInt(m.group(2));
        System.out.printf("live migration %s -> %s: the peer's ping lost %d of %d (one each 200 ms), %d sent while"
                + " the server moved%n", from, host(), lost, sent, moving);
        // Under TCG the guest is paused for the whole copy, which a busy machine stretches: the pings of the move
        // may go, and then a few seconds' more (Nova and Neutron move a port's binding after the guest runs on the
        // target), but not the ones after: the floating IP and the tenant port answer on the new host.
        assertThat(lost).as("pings lost (of " + sent + ", " + moving + " while the server moved)")
                .isLessThanOrEqualTo(moving + 25);
    }

    @Test
    @Order(4)
    void disassociatingCutsTheOutsideOffAndDeletingTheRouterRemovesItsNamespace() throws Exception {
        assumeTrue(floatingIp != null, "the floating IP of the second test was not made");
        dave("server", "remove", "floating", "ip", "inside", floatingIp);
        awaitPing(floatingIp, false);
        for (int i = 0; i < 3; i++) {
            assertThat(ping(floatingIp)).as("no answer once disassociated").isFalse();
        }
        assertThatThrownBy(() -> dave("router", "delete", "r")).as("a router with interfaces is in use (409)")
                .hasMessageContaining("409");
        dave("router", "remove", "subnet", "r", "sub-r");
        dave("router", "unset", "--external-gateway", "r");
        dave("router", "delete", "r");
        String namespace = L3_HOST + "-qrouter-" + router;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (GuestAccess.run("ip", "netns", "list").contains(namespace) && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        assertThat(GuestAccess.run("ip", "netns", "list")).as("the router's namespace is gone")
                .doesNotContain(namespace);
        assertThat(GuestAccess.run("ip", "-n", cloud.namespace(7), "-o", "link", "show")).as("and its legs")
                .doesNotContain("qr-").doesNotContain("qg-");
    }

    /**
     * Has the server (at {@code address}, reached over ssh from {@code namespace}) open a TCP
     * connection to a listener in the outside namespace and say hello.
     *
     * @return what the listener saw: the peer's address and the line it got
     */
    private String fromInside(String namespace, String address) throws Exception {
        Process listener = new ProcessBuilder("ip", "netns", "exec", OUTSIDE, "python3", "-c", """
                import socket
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("%s", 9000))
                s.listen()
                print("LISTENING", flush=True)
                c, peer = s.accept()
                print(peer[0], c.recv(100).decode().strip(), flush=True)
                """.formatted(OUTSIDE_IP)).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(listener.getInputStream(),
                    StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("LISTENING");
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            guests.awaitSsh(namespace, "root", address, "echo hello | nc -w 3 " + OUTSIDE_IP + " 9000", WAIT);
            return seen.get(30, TimeUnit.SECONDS);
        } finally {
            listener.destroyForcibly();
        }
    }

    /** Waits until a ping from the outside to {@code address} answers ({@code answers}) or stops answering. */
    private void awaitPing(String address, boolean answers) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (ping(address) != answers) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("a ping from the outside to " + address + (answers ? " never answered"
                        : " still answers"));
            }
            Thread.sleep(500);
        }
    }

    private static boolean ping(String address) throws Exception {
        return GuestAccess.succeeds("ip", "netns", "exec", OUTSIDE, "ping", "-c", "1", "-W", "1", address);
    }

    private String host() {
        return cloud.admin.ok("GET", "/compute/v2.1/servers/" + server, null).path("server")
                .path("OS-EXT-SRV-ATTR:host").asText();
    }

    private String dave(String... args) throws Exception {
        return cloud.openstackAs("dave", "dave-secret", "routers", args);
    }

    private static String id(String printed) throws IOException {
        return JSON.readTree(printed).path("id").asText();
    }
}
