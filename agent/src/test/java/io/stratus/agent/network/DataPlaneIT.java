package io.stratus.agent.network;

import static io.stratus.agent.network.States.dhcpPort;
import static io.stratus.agent.network.States.port;
import static io.stratus.agent.network.States.remote;
import static io.stratus.agent.network.States.rule;
import static io.stratus.agent.network.States.subnet;
import static io.stratus.agent.network.States.vxlan;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.SecurityGroupRule.Direction;
import io.stratus.proto.v1.SecurityGroupRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Two simulated hosts (namespaces joined by a veth pair) and guests (namespaces on veth pairs whose
 * host ends are named like the ports' TAPs), with the data plane made from hand-built states, and
 * every claim checked by real traffic: DHCP, ping over VXLAN, isolation of networks, a TCP port
 * opened by a rule, spoofing, and nothing left behind.
 */
@ResourceLock(Namespaces.HOST_NETWORK)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DataPlaneIT {
    private static final String H1 = "stn-h1";
    private static final String H2 = "stn-h2";
    private static final String A = "aaaaaaaa-0000-4000-8000-00000000000a";
    private static final String B = "bbbbbbbb-0000-4000-8000-00000000000b";
    private static final String SUBNET_A = "5a000000-0000-4000-8000-000000000001";
    private static final String SUBNET_B = "5b000000-0000-4000-8000-000000000002";
    private static final String WEB = "9e000000-0000-4000-8000-0000000000e1";
    private static final PortBinding P1 = port("p1000000-0000-4000-8000-000000000001", A, "fa:16:3e:00:00:01",
            SUBNET_A, "10.50.0.11", WEB);
    private static final PortBinding P2 = port("p2000000-0000-4000-8000-000000000002", A, "fa:16:3e:00:00:02",
            SUBNET_A, "10.50.0.12", WEB);
    // Another network, the same addresses: conntrack zones keep them apart on host 1.
    private static final PortBinding P3 = port("p3000000-0000-4000-8000-000000000003", B, "fa:16:3e:00:00:03",
            SUBNET_B, "10.50.0.12", WEB);

    private static Namespaces namespaces;
    private static Path dir;
    private static Path leaseScript;
    private static NetworkReconciler host1;
    private static NetworkReconciler host2;
    private static long generation;

    @BeforeAll
    static void hosts() throws IOException {
        Namespaces.assumeUsable();
        namespaces = new Namespaces();
        dir = Files.createTempDirectory("stratus-net");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        leaseScript = dir.resolve("udhcpc.sh");
        Files.writeString(leaseScript, """
                #!/bin/sh
                if [ "$1" = bound ]; then
                  ip addr flush dev "$interface"
                  ip addr add "$ip/$mask" dev "$interface"
                  echo "LEASE $ip/$mask router=$router mtu=$mtu routes=$staticroutes"
                fi
                """);
        Files.setPosixFilePermissions(leaseScript, PosixFilePermissions.fromString("rwxr-xr-x"));
        namespaces.create(H1);
        namespaces.create(H2);
        HostCommands.local().run("ip", "-n", H1, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                "netns", H2);
        for (String[] h : List.of(new String[] {H1, "10.215.0.1"}, new String[] {H2, "10.215.0.2"})) {
            HostCommands.local().run("ip", "-n", h[0], "addr", "add", h[1] + "/24", "dev", "eth0");
            HostCommands.local().run("ip", "-n", h[0], "link", "set", "eth0", "up");
        }
        host1 = reconciler(H1, "10.215.0.1");
        host2 = reconciler(H2, "10.215.0.2");
        namespaces.guest("stn-g1", H1, P1.getTap(), P1.getMac());
        namespaces.guest("stn-g2", H2, P2.getTap(), P2.getMac());
        namespaces.guest("stn-g3", H1, P3.getTap(), P3.getMac());
        host1.apply(state1(List.of()));
        host2.apply(state2(List.of()));
        // The guests' host ends go on the bridges as the boot path's plug would put their TAPs.
        attach(H1, P1.getTap(), A);
        attach(H2, P2.getTap(), A);
        attach(H1, P3.getTap(), B);
    }

    private static NetworkReconciler reconciler(String ns, String address) {
        return new NetworkReconciler(HostCommands.inNamespace(ns), new NetworkSettings(address,
                java.util.Map.of(), ns + "-", dir.resolve(ns)));
    }

    private static void attach(String host, String tap, String network) {
        HostCommands.inNamespace(host).run("ip", "link", "set", tap, "master", DeviceNames.bridge(network), "up");
    }

    /** Host 1: network A (with host 2 behind VXLAN) and B, ports 1 and 3. */
    private static HostNetworkState state1(List<io.stratus.proto.v1.SecurityGroupRule> extra) {
        return HostNetworkState.newBuilder().setHost(H1).setGeneration(++generation)
                .addNetworks(vxlan(A, 1001, subnet(SUBNET_A, "10.50.0.0/24", "10.50.0.1"),
                        dhcpPort("da100000-0000-4000-8000-0000000000a1", A, "fa:16:3e:00:0a:01", SUBNET_A, "10.50.0.2"),
                        remote(H2, "10.215.0.2", P2.getMac())))
                .addNetworks(vxlan(B, 1002, subnet(SUBNET_B, "10.50.0.0/24", "10.50.0.1"),
                        dhcpPort("db100000-0000-4000-8000-0000000000b1", B, "fa:16:3e:00:0b:01", SUBNET_B, "10.50.0.2")))
                .addPorts(P1).addPorts(P3).addSecurityGroups(web(extra)).build();
    }

    /** Host 2: network A (with host 1 behind VXLAN), port 2. */
    private static HostNetworkState state2(List<io.stratus.proto.v1.SecurityGroupRule> extra) {
        return HostNetworkState.newBuilder().setHost(H2).setGeneration(++generation)
                .addNetworks(vxlan(A, 1001, subnet(SUBNET_A, "10.50.0.0/24", "10.50.0.1"),
                        dhcpPort("da200000-0000-4000-8000-0000000000a2", A, "fa:16:3e:00:0a:02", SUBNET_A, "10.50.0.3"),
                        remote(H1, "10.215.0.1", P1.getMac())))
                .addPorts(P2).addSecurityGroups(web(extra)).build();
    }

    /** Pings in, anything out, and {@code extra}. */
    private static SecurityGroupRules web(List<io.stratus.proto.v1.SecurityGroupRule> extra) {
        return SecurityGroupRules.newBuilder().setSecurityGroupId(WEB).addRules(rule(Direction.INGRESS, 1, 0, 0))
                .addRules(rule(Direction.EGRESS, 0, 0, 0)).addAllRules(extra)
                .addAllMemberIps(List.of("10.50.0.11", "10.50.0.12")).build();
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (namespaces == null) {
            return;
        }
        try {
            for (NetworkReconciler r : List.of(host1, host2)) {
                try {
                    r.apply(HostNetworkState.getDefaultInstance());
                } catch (RuntimeException e) {
                    System.err.println("clean-up: " + e.getMessage());
                }
            }
        } finally {
            namespaces.named("stn-h").forEach(namespaces::remove);
            namespaces.close();
            HostCommands.local().attempt("rm", "-rf", dir.toString());
        }
    }

    @Test
    @Order(1)
    void dhcpGivesEachGuestItsFixedAddress() {
        assertThat(dhcp("stn-g1")).contains("LEASE 10.50.0.11/24 router=10.50.0.1 mtu=1450");
        assertThat(dhcp("stn-g2")).contains("LEASE 10.50.0.12/24 router=10.50.0.1");
        assertThat(dhcp("stn-g3")).contains("LEASE 10.50.0.12/24 router=10.50.0.1");
    }

    @Test
    @Order(2)
    void guestsOnOneNetworkPingAcrossHostsOverVxlan() {
        assertThat(ping("stn-g1", "10.50.0.12")).isTrue();
        assertThat(ping("stn-g2", "10.50.0.11")).isTrue();
    }

    @Test
    @Order(3)
    void aGuestOfAnotherNetworkReachesNeither() {
        // g3 has g2's address on network B, on the same host as g1: it reaches nobody of network A.
        assertThat(ping("stn-g3", "10.50.0.11")).isFalse();
        assertThat(namespaces.in("stn-g3", "busybox", "arping", "-c", "1", "-w", "1", "-I", "eth0", "10.50.0.11")
                .ok()).isFalse();
    }

    @Test
    @Order(4)
    void aTcpPortIsClosedUntilARuleOpensItThenCarriesData() throws Exception {
        assertThat(tcp("stn-g1", "stn-g2", "10.50.0.12", 8080)).isEmpty();
        // From members of the group itself (a remote-group rule).
        var open = rule(Direction.INGRESS, 6, 8080, 8080).toBuilder().setRemoteGroupId(WEB).build();
        host2.apply(state2(List.of(open)));
        assertThat(tcp("stn-g1", "stn-g2", "10.50.0.12", 8080)).contains("hello over vxlan");
        assertThat(tcp("stn-g1", "stn-g2", "10.50.0.12", 8081)).isEmpty();
    }

    @Test
    @Order(5)
    void spoofedSourcesAreDropped() {
        namespaces.in("stn-g1", "ip", "addr", "add", "10.50.0.99/24", "dev", "eth0");
        try {
            assertThat(namespaces.in("stn-g1", "busybox", "ping", "-c", "2", "-W", "1", "-I", "10.50.0.99",
                    "10.50.0.12").ok()).isFalse();
        } finally {
            namespaces.in("stn-g1", "ip", "addr", "del", "10.50.0.99/24", "dev", "eth0");
        }
        namespaces.in("stn-g1", "ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:99");
        try {
            assertThat(ping("stn-g1", "10.50.0.12")).isFalse();
        } finally {
            namespaces.in("stn-g1", "ip", "link", "set", "eth0", "address", P1.getMac());
        }
        assertThat(ping("stn-g1", "10.50.0.12")).isTrue();
    }

    @Test
    @Order(6)
    void aTapNoPortOwnsPassesNothing() {
        namespaces.guest("stn-g4", H1, "tapunknown-0", "fa:16:3e:00:00:04");
        attach(H1, "tapunknown-0", A);
        namespaces.in("stn-g4", "ip", "addr", "add", "10.50.0.44/24", "dev", "eth0");
        assertThat(ping("stn-g4", "10.50.0.11")).isFalse();
        // Deleted here, not left to the namespace's removal: the kernel tears a namespace's veths down
        // later, in the background, and the next test compares the host's devices before and after.
        namespaces.in(H1, "ip", "link", "del", "tapunknown-0");
        namespaces.remove("stn-g4");
    }

    @Test
    @Order(7)
    void applyingTheSameStateAgainTouchesNothing() {
        String before = devices(H1) + dnsmasqPids();
        host1.apply(state1(List.of()));
        assertThat(devices(H1) + dnsmasqPids()).isEqualTo(before);
        assertThat(ping("stn-g1", "10.50.0.12")).isTrue();
    }

    @Test
    @Order(8)
    void anEmptyStateLeavesNothingBehindButABridgeAGuestIsOn() {
        host2.apply(HostNetworkState.newBuilder().setHost(H2).setGeneration(++generation).build());
        assertThat(devices(H2)).contains(DeviceNames.bridge(A)).doesNotContain("vxlan-");
        List.of("stn-g1", "stn-g2", "stn-g3").forEach(namespaces::remove);
        host2.apply(HostNetworkState.newBuilder().setHost(H2).setGeneration(++generation).build());
        host1.apply(HostNetworkState.newBuilder().setHost(H1).setGeneration(++generation).build());
        for (String h : List.of(H1, H2)) {
            assertThat(devices(h)).doesNotContain("brq").doesNotContain("vxlan-");
            assertThat(namespaces.in(h, "nft", "list", "ruleset").output()).isEmpty();
            assertThat(namespaces.in(h, "bridge", "fdb", "show").output()).doesNotContain("dst");
        }
        assertThat(namespaces.named(H1 + "-")).isEmpty();
        assertThat(namespaces.named(H2 + "-")).isEmpty();
        assertThat(dnsmasqPids()).isEmpty();
        assertThat(dir.resolve(H1).toFile().list()).isEmpty();
    }

    private static String dhcp(String guest) {
        var o = namespaces.in(guest, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-O", "mtu", "-O", "staticroutes", "-s",
                leaseScript.toString());
        assertThat(o.ok()).as("udhcpc in %s: %s", guest, o.output()).isTrue();
        return o.output();
    }

    private static boolean ping(String guest, String address) {
        return namespaces.in(guest, "busybox", "ping", "-c", "2", "-W", "1", address).ok();
    }

    /** What a client in {@code from} sent arrives at a listener in {@code to}; empty when it could not connect. */
    private static String tcp(String from, String to, String address, int port) throws Exception {
        Path received = Files.createTempFile(dir, "tcp", ".out");
        // ip netns exec becomes nc (exec): destroying the process ends the listener.
        Process listener = new ProcessBuilder("ip", "netns", "exec", to, "busybox", "nc", "-l", "-p",
                String.valueOf(port)).redirectErrorStream(true).redirectOutput(received.toFile()).start();
        try {
            Thread.sleep(300);
            HostCommands.local().attemptInput("hello over vxlan\n", "ip", "netns", "exec", from, "busybox", "nc", "-w",
                    "2", address, String.valueOf(port));
            listener.waitFor(2, TimeUnit.SECONDS);
        } finally {
            listener.destroyForcibly();
        }
        listener.waitFor(2, TimeUnit.SECONDS);
        String text = Files.readString(received);
        Files.delete(received);
        return text;
    }

    private static String devices(String host) {
        return HostCommands.inNamespace(host).run("ip", "-o", "link", "show").lines()
                .filter(l -> !l.contains("eth0") && !l.contains(" lo:")).toList().toString();
    }

    private static String dnsmasqPids() {
        return HostCommands.local().attempt("pgrep", "-f", "dnsmasq --conf-file=" + dir).output();
    }
}
