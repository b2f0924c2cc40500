package io.stratus.agent.network;

import static io.stratus.agent.network.States.dhcpPort;
import static io.stratus.agent.network.States.port;
import static io.stratus.agent.network.States.rule;
import static io.stratus.agent.network.States.subnet;
import static io.stratus.agent.network.States.vxlan;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.agent.metadata.ControlPlaneMetadata;
import io.stratus.agent.metadata.MetadataRequests;
import io.stratus.agent.metadata.MetadataServer;
import io.stratus.agent.metadata.StandInControlPlane;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.SecurityGroupRule.Direction;
import io.stratus.proto.v1.SecurityGroupRules;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * The metadata path with real parts: a simulated host (a namespace) whose network's DHCP namespace
 * runs dnsmasq and haproxy, the agent's socket server (Vert.x, in this JVM), a stand-in control
 * plane on loopback that checks signatures and answers per instance, and guests (namespaces on the
 * bridge) asking 169.254.169.254 with curl over the route their DHCP lease gave them.
 */
@ResourceLock(Namespaces.HOST_NETWORK)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MetadataProxyIT {
    private static final String HOST = "stn-40h";
    private static final String G1 = "stn-41g";
    private static final String G2 = "stn-42g";
    private static final String G3 = "stn-43g";
    private static final String NET = "a4000000-0000-4000-8000-0000000000a4";
    private static final String SUBNET = "5a400000-0000-4000-8000-000000000001";
    private static final String GROUP = "9e400000-0000-4000-8000-0000000000e1";
    private static final String VM1 = "11111111-4000-4000-8000-000000000001";
    private static final String VM2 = "22222222-4000-4000-8000-000000000002";
    private static final String SECRET = "the-shared-secret";
    private static final PortBinding P1 = instancePort(port("p4100000-0000-4000-8000-000000000001", NET,
            "fa:16:3e:40:00:01", SUBNET, "10.60.0.11", GROUP), VM1, "project-a");
    private static final PortBinding P2 = instancePort(port("p4200000-0000-4000-8000-000000000002", NET,
            "fa:16:3e:40:00:02", SUBNET, "10.60.0.12", GROUP), VM2, "project-b");
    // Without port security: its guest can send from an address no port has.
    private static final PortBinding P3 = port("p4300000-0000-4000-8000-000000000003", NET, "fa:16:3e:40:00:03",
            SUBNET, "10.60.0.13");
    private static final String METADATA = "http://169.254.169.254/";

    private static Namespaces namespaces;
    private static Path dir;
    private static Path leaseScript;
    private static Path socket;
    private static StandInControlPlane controlPlane;
    private static Vertx vertx;
    private static MetadataServer server;
    private static NetworkReconciler reconciler;
    private static long generation;

    private static PortBinding instancePort(PortBinding p, String instance, String project) {
        return p.toBuilder().setDeviceId(instance).setProjectId(project).build();
    }

    @BeforeAll
    static void host() throws Exception {
        Namespaces.assumeUsable();
        Assumptions.assumeTrue(HostCommands.local().attempt("haproxy", "-v").ok(),
                "skipped: haproxy is not installed (apt-get install haproxy)");
        Assumptions.assumeTrue(HostCommands.local().attempt("curl", "--version").ok(),
                "skipped: curl is not installed (apt-get install curl)");
        namespaces = new Namespaces();
        dir = Files.createTempDirectory("stn-md");
        // dnsmasq and haproxy drop root: they must reach their files and the socket.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = dir.resolve("metadata.sock");
        leaseScript = dir.resolve("udhcpc.sh");
        Files.writeString(leaseScript, """
                #!/bin/sh
                if [ "$1" = bound ]; then
                  ip addr flush dev "$interface"
                  ip addr add "$ip/$mask" dev "$interface"
                  set -- $staticroutes
                  while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
                  echo "LEASE $ip/$mask routes=$staticroutes"
                fi
                """);
        Files.setPosixFilePermissions(leaseScript, PosixFilePermissions.fromString("rwxr-xr-x"));

        controlPlane = new StandInControlPlane(SECRET, Map.of(VM1, "project-a", VM2, "project-b"));
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        namespaces.create(HOST);
        reconciler = reconciler();
        server = serve();
        namespaces.guest(G1, HOST, P1.getTap(), P1.getMac());
        namespaces.guest(G2, HOST, P2.getTap(), P2.getMac());
        namespaces.guest(G3, HOST, P3.getTap(), P3.getMac());
        reconciler.apply(state());
        for (PortBinding p : List.of(P1, P2, P3)) {
            HostCommands.inNamespace(HOST).run("ip", "link", "set", p.getTap(), "master", DeviceNames.bridge(NET), "up");
        }
    }

    private static NetworkReconciler reconciler() {
        return new NetworkReconciler(HostCommands.inNamespace(HOST), new NetworkSettings("127.0.0.1", Map.of(),
                HOST + "-", dir.resolve("dhcp"), Optional.of(socket)));
    }

    private static MetadataServer serve() throws Exception {
        var client = new ControlPlaneMetadata(HttpClient.newHttpClient(), controlPlane.root(), SECRET,
                Duration.ofSeconds(5));
        return MetadataServer.start(vertx, socket, new MetadataRequests(reconciler::applied, client));
    }

    private static HostNetworkState state() {
        SecurityGroupRules group = SecurityGroupRules.newBuilder().setSecurityGroupId(GROUP)
                .addRules(rule(Direction.INGRESS, 1, 0, 0)).addRules(rule(Direction.EGRESS, 0, 0, 0))
                .addAllMemberIps(List.of("10.60.0.11", "10.60.0.12")).build();
        return HostNetworkState.newBuilder().setHost(HOST).setGeneration(++generation)
                .addNetworks(vxlan(NET, 1040, subnet(SUBNET, "10.60.0.0/24", "10.60.0.1"),
                        dhcpPort("d4000000-0000-4000-8000-0000000000d4", NET, "fa:16:3e:40:0d:01", SUBNET, "10.60.0.2")))
                .addPorts(P1).addPorts(P2).addPorts(P3).addSecurityGroups(group).build();
    }

    @AfterAll
    static void cleanUp() {
        if (namespaces == null) {
            return;
        }
        try {
            try {
                reconciler.apply(HostNetworkState.newBuilder().setHost(HOST).setGeneration(++generation).build());
            } catch (RuntimeException e) {
                System.err.println("clean-up: " + e.getMessage());
            }
            if (server != null) {
                server.close();
            }
            if (vertx != null) {
                vertx.close();
            }
            if (controlPlane != null) {
                controlPlane.close();
            }
        } finally {
            namespaces.named(HOST).forEach(namespaces::remove);
            namespaces.close();
            HostCommands.local().attempt("rm", "-rf", dir.toString());
        }
    }

    @Test
    @Order(1)
    void theLeaseRoutesTheMetadataAddressToTheDhcpPortWhereTheProxyListens() {
        var lease = namespaces.in(G1, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1",
                "-O", "staticroutes", "-s", leaseScript.toString());
        assertThat(lease.output()).contains("LEASE 10.60.0.11/24 routes=169.254.169.254/32 10.60.0.2 0.0.0.0/0 10.60.0.1");
        assertThat(namespaces.in(G1, "ip", "route", "get", "169.254.169.254").output()).contains("via 10.60.0.2");
        var lease2 = namespaces.in(G2, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1",
                "-O", "staticroutes", "-s", leaseScript.toString());
        assertThat(lease2.output()).contains("LEASE 10.60.0.12/24");
        String ns = DeviceNames.dhcpNamespace(HOST + "-", NET);
        assertThat(namespaces.in(ns, "ip", "-o", "addr", "show").output()).contains("169.254.169.254/32");
        assertThat(haproxyPid()).isNotEmpty();
        // Once bound, haproxy is no longer root where Debian's package made its account.
        MetadataProxies.account().ifPresent(a -> assertThat(ProcessHandle.of(Long.parseLong(haproxyPid()))
                .flatMap(h -> h.info().user())).contains(a));
    }

    @Test
    @Order(2)
    void eachGuestReadsItsOwnInstancesMetadata() {
        assertThat(curl(G1, "openstack/latest/meta_data.json")).isEqualTo("200 {\"uuid\": \"" + VM1
                + "\", \"project_id\": \"project-a\"}");
        assertThat(curl(G2, "openstack/latest/meta_data.json")).isEqualTo("200 {\"uuid\": \"" + VM2
                + "\", \"project_id\": \"project-b\"}");
        assertThat(curl(G2, "latest/meta-data/instance-id")).isEqualTo("200 " + VM2);
        // Signed, with the guest's address as the proxy saw it.
        var last = controlPlane.seen().get(controlPlane.seen().size() - 1);
        assertThat(last.headers().get("X-forwarded-for")).containsExactly("10.60.0.12");
    }

    @Test
    @Order(3)
    void headersAGuestWritesChangeNothing() {
        int before = controlPlane.seen().size();
        String answer = curl(G1, "openstack/latest/meta_data.json", "-H", "X-Instance-ID: " + VM2, "-H",
                "X-Tenant-ID: project-b", "-H", "X-Instance-ID-Signature: 00", "-H", "X-Neutron-Network-ID: "
                        + "bbbbbbbb-0000-4000-8000-00000000000b", "-H", "X-Forwarded-For: 10.60.0.12", "-H",
                "X-Neutron-Router-ID: r");
        assertThat(answer).contains("\"uuid\": \"" + VM1 + "\"").doesNotContain(VM2);
        var seen = controlPlane.seen().get(before);
        assertThat(seen.headers().get("X-instance-id")).containsExactly(VM1);
        assertThat(seen.headers().get("X-tenant-id")).containsExactly("project-a");
        assertThat(seen.headers().get("X-forwarded-for")).containsExactly("10.60.0.11");
        assertThat(seen.headers()).doesNotContainKey("X-neutron-router-id").doesNotContainKey("X-neutron-network-id");
    }

    @Test
    @Order(4)
    void aGuestThatTakesAnothersAddressGetsNothing() {
        int before = controlPlane.requests();
        namespaces.in(G1, "ip", "addr", "add", "10.60.0.12/24", "dev", "eth0");
        try {
            // Anti-spoofing drops what it sends from an address not its own: no connection at all.
            assertThat(curl(G1, "latest/meta-data/instance-id", "--interface", "10.60.0.12", "--max-time", "3"))
                    .startsWith("000");
        } finally {
            namespaces.in(G1, "ip", "addr", "del", "10.60.0.12/24", "dev", "eth0");
        }
        assertThat(controlPlane.requests()).isEqualTo(before);
    }

    @Test
    @Order(5)
    void anAddressNoPortHasIsNotFoundAndTheControlPlaneNotAsked() {
        namespaces.in(G3, "ip", "addr", "add", "10.60.0.99/24", "dev", "eth0");
        namespaces.in(G3, "ip", "route", "add", "169.254.169.254/32", "via", "10.60.0.2");
        int before = controlPlane.requests();
        assertThat(curl(G3, "latest/meta-data/instance-id")).startsWith("404 ");
        assertThat(controlPlane.requests()).isEqualTo(before);
    }

    @Test
    @Order(6)
    void aPostReachesTheControlPlaneForTheGuestsInstance() {
        assertThat(curl(G2, "openstack/latest/password", "-X", "POST", "--data-binary", "sealed-password"))
                .startsWith("200");
        assertThat(controlPlane.passwords()).containsEntry(VM2, "sealed-password").doesNotContainKey(VM1);
    }

    @Test
    @Order(7)
    void anAgentRestartFindsTheProxyRunningAndServesItAgain() throws Exception {
        String pid = haproxyPid();
        server.close();
        assertThat(curl(G1, "latest/meta-data/instance-id")).startsWith("503");
        reconciler = reconciler();
        reconciler.apply(state());
        server = serve();
        assertThat(haproxyPid()).isEqualTo(pid);
        assertThat(curl(G1, "latest/meta-data/instance-id")).isEqualTo("200 " + VM1);
    }

    @Test
    @Order(8)
    void aNetworkThatGoesTakesItsProxyWithIt() {
        String pid = haproxyPid();
        reconciler.apply(HostNetworkState.newBuilder().setHost(HOST).setGeneration(++generation).build());
        assertThat(ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive)).isNotEqualTo(Optional.of(true));
        assertThat(dir.resolve("dhcp").resolve(NET)).doesNotExist();
        assertThat(namespaces.named(HOST + "-")).isEmpty();
    }

    /** Status and body (one line) of {@code GET path} from guest {@code guest}; status 000: no answer. */
    private static String curl(String guest, String path, String... extra) {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-o", "-",
                "-w", " %{http_code}"));
        command.addAll(List.of(extra));
        command.add(METADATA + path);
        String out = namespaces.in(guest, command.toArray(String[]::new)).output().trim();
        int split = out.lastIndexOf(' ');
        String status = out.substring(split + 1);
        return (status + " " + out.substring(0, Math.max(0, split)).trim()).trim();
    }

    private static String haproxyPid() {
        try {
            return Files.readString(dir.resolve("dhcp").resolve(NET).resolve(MetadataProxies.PID)).trim();
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
