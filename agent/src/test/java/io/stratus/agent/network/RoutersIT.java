package io.stratus.agent.network;

import static io.stratus.agent.network.States.port;
import static io.stratus.agent.network.States.rule;
import static io.stratus.agent.network.States.subnet;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RouterConfig;
import io.stratus.proto.v1.SecurityGroupRule.Direction;
import io.stratus.proto.v1.SecurityGroupRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * One simulated L3 agent host with two tenant networks (VXLAN), a flat external network on an
 * interface that leads to an "outside" namespace, and a router between them with SNAT and a
 * floating IP; guests are namespaces on veth pairs named like their ports' TAPs. Every claim is
 * checked by real traffic, and who a listener sees connecting says which translation happened.
 */
@ResourceLock(Namespaces.HOST_NETWORK)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutersIT {
    private static final String HOST = "l3t-h";
    private static final String OUTSIDE = "l3t-out";
    private static final String G1 = "l3t-g1";
    private static final String G2 = "l3t-g2";
    private static final String PREFIX = HOST + "-";
    private static final String A = "a3000000-0000-4000-8000-00000000000a";
    private static final String B = "b3000000-0000-4000-8000-00000000000b";
    private static final String EXT = "e3000000-0000-4000-8000-0000000000e0";
    private static final String SUBNET_A = "5a300000-0000-4000-8000-000000000001";
    private static final String SUBNET_B = "5b300000-0000-4000-8000-000000000002";
    private static final String SUBNET_EXT = "5e300000-0000-4000-8000-000000000003";
    private static final String OPEN = "9e300000-0000-4000-8000-0000000000e1";
    private static final String ROUTER = "r3000000-0000-4000-8000-000000000001";
    private static final String BROKEN = "r3000000-0000-4000-8000-000000000002";
    private static final String GATEWAY = "203.0.113.10";
    private static final String FLOATING = "203.0.113.20";
    private static final String OUTSIDE_ADDRESS = "203.0.113.1";
    private static final PortBinding P1 = port("p3100000-0000-4000-8000-000000000001", A, "fa:16:3e:30:00:01",
            SUBNET_A, "10.60.0.11", OPEN);
    private static final PortBinding P2 = port("p3200000-0000-4000-8000-000000000002", B, "fa:16:3e:30:00:02",
            SUBNET_B, "10.61.0.12", OPEN);
    private static final PortBinding LEG_A = leg("ra300000-0000-4000-8000-0000000000a1", A, "fa:16:3e:31:00:01",
            SUBNET_A, "10.60.0.1", "network:router_interface");
    private static final PortBinding LEG_B = leg("rb300000-0000-4000-8000-0000000000b1", B, "fa:16:3e:31:00:02",
            SUBNET_B, "10.61.0.1", "network:router_interface");
    private static final PortBinding LEG_EXT = leg("rg300000-0000-4000-8000-0000000000e1", EXT, "fa:16:3e:31:00:03",
            SUBNET_EXT, GATEWAY, "network:router_gateway");
    private static final Pattern PEER = Pattern.compile("(\\d+\\.\\d+\\.\\d+\\.\\d+):\\d+\\s+\\S+\\s*$");

    private static Namespaces namespaces;
    private static Path dir;
    private static NetworkReconciler agent;
    private static long generation;

    @BeforeAll
    static void host() throws IOException {
        Namespaces.assumeUsable();
        namespaces = new Namespaces();
        dir = Files.createTempDirectory("stratus-l3");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        namespaces.create(HOST);
        namespaces.create(OUTSIDE);
        HostCommands root = HostCommands.local();
        root.run("ip", "-n", HOST, "addr", "add", "10.216.0.1/32", "dev", "lo");
        // The host's external interface, cabled to the outside.
        root.run("ip", "-n", HOST, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE);
        root.run("ip", "-n", OUTSIDE, "addr", "add", OUTSIDE_ADDRESS + "/24", "dev", "eth0");
        root.run("ip", "-n", OUTSIDE, "link", "set", "eth0", "up");
        agent = reconciler(true);
        namespaces.guest(G1, HOST, P1.getTap(), P1.getMac());
        namespaces.guest(G2, HOST, P2.getTap(), P2.getMac());
        agent.apply(state(router(true)));
        for (String[] g : List.of(new String[] {G1, "10.60.0.11", "10.60.0.1", P1.getTap(), A},
                new String[] {G2, "10.61.0.12", "10.61.0.1", P2.getTap(), B})) {
            root.run("ip", "-n", g[0], "addr", "add", g[1] + "/24", "dev", "eth0");
            root.run("ip", "-n", g[0], "route", "add", "default", "via", g[2]);
            HostCommands.inNamespace(HOST).run("ip", "link", "set", g[3], "master", DeviceNames.bridge(g[4]), "up");
        }
    }

    private static NetworkReconciler reconciler(boolean l3Agent) {
        return new NetworkReconciler(HostCommands.inNamespace(HOST), new NetworkSettings("10.216.0.1",
                Map.of("public", "eth1"), PREFIX, dir.resolve("dhcp"), Optional.empty(), l3Agent));
    }

    private static PortBinding leg(String id, String network, String mac, String subnet, String ip, String owner) {
        return PortBinding.newBuilder().setPortId(id).setNetworkId(network).setMac(mac)
                .addFixedIps(FixedIp.newBuilder().setSubnetId(subnet).setIpAddress(ip)).setDeviceOwner(owner)
                .setDeviceId(ROUTER).setTap(DeviceNames.tap(id)).setAdminStateUp(true).build();
    }

    private static RouterConfig router(boolean floating) {
        RouterConfig.Builder r = RouterConfig.newBuilder().setRouterId(ROUTER).setAdminStateUp(true)
                .setGatewayPort(LEG_EXT).setEnableSnat(true).addInterfaces(LEG_A).addInterfaces(LEG_B);
        if (floating) {
            r.addFloatingIps(FloatingIpMapping.newBuilder().setFloatingIpId("f3000000-0000-4000-8000-000000000001")
                    .setFloatingIpAddress(FLOATING).setFixedIpAddress(P1.getFixedIps(0).getIpAddress())
                    .setPortId(P1.getPortId()));
        }
        return r.build();
    }

    private static HostNetworkState state(RouterConfig... routers) {
        return HostNetworkState.newBuilder().setHost(HOST).setGeneration(++generation)
                .addNetworks(tenant(A, 2101, SUBNET_A, "10.60.0.0/24", "10.60.0.1"))
                .addNetworks(tenant(B, 2102, SUBNET_B, "10.61.0.0/24", "10.61.0.1"))
                .addNetworks(NetworkSegment.newBuilder().setNetworkId(EXT).setType(NetworkSegment.Type.FLAT)
                        .setPhysicalNetwork("public").setMtu(1500)
                        .addSubnets(subnet(SUBNET_EXT, "203.0.113.0/24", OUTSIDE_ADDRESS).toBuilder().setEnableDhcp(false)))
                .addPorts(P1).addPorts(P2)
                .addSecurityGroups(SecurityGroupRules.newBuilder().setSecurityGroupId(OPEN)
                        .addRules(rule(Direction.INGRESS, 1, 0, 0)).addRules(rule(Direction.INGRESS, 6, 8080, 8080))
                        .addRules(rule(Direction.EGRESS, 0, 0, 0)).addAllMemberIps(List.of("10.60.0.11", "10.61.0.12")))
                .addAllRouters(List.of(routers)).build();
    }

    private static NetworkSegment tenant(String id, int vni, String subnet, String cidr, String gateway) {
        return NetworkSegment.newBuilder().setNetworkId(id).setType(NetworkSegment.Type.VXLAN).setSegmentationId(vni)
                .setMtu(1450).addSubnets(subnet(subnet, cidr, gateway).toBuilder().setEnableDhcp(false)).build();
    }

    @AfterAll
    static void cleanUp() {
        if (namespaces == null) {
            return;
        }
        try {
            agent.apply(HostNetworkState.getDefaultInstance());
        } catch (RuntimeException e) {
            System.err.println("clean-up: " + e.getMessage());
        } finally {
            namespaces.named(PREFIX).forEach(namespaces::remove);
            namespaces.close();
            HostCommands.local().attempt("rm", "-rf", dir.toString());
        }
    }

    @Test
    @Order(1)
    void aGuestWithoutFloatingIpReachesTheOutsideWithTheGatewayAddress() throws Exception {
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
    }

    @Test
    @Order(2)
    void aGuestWithAFloatingIpGoesOutWithIt() throws Exception {
        assertThat(peerSeen(G1, OUTSIDE, OUTSIDE_ADDRESS)).contains(FLOATING);
    }

    @Test
    @Order(3)
    void theOutsideReachesTheFloatingIpAndTheGuestSeesItsRealAddress() throws Exception {
        assertThat(ping(OUTSIDE, FLOATING)).isTrue();
        assertThat(peerSeen(OUTSIDE, G1, FLOATING)).contains(OUTSIDE_ADDRESS);
        // The router's own address on the gateway answers too.
        assertThat(ping(OUTSIDE, GATEWAY)).isTrue();
    }

    @Test
    @Order(4)
    void theRoutersSubnetsReachEachOtherWithoutTranslation() throws Exception {
        assertThat(peerSeen(G2, G1, "10.60.0.11")).contains("10.61.0.12");
        assertThat(peerSeen(G1, G2, "10.61.0.12")).contains("10.60.0.11");
    }

    @Test
    @Order(5)
    void theRoutersNamespaceHasItsLegsAddressesAndRoutes() {
        String ns = PREFIX + "qrouter-" + ROUTER;
        assertThat(namespaces.named(PREFIX)).containsExactly(ns);
        String qg = "qg-" + LEG_EXT.getPortId().substring(0, 11);
        String addresses = namespaces.in(ns, "ip", "-o", "addr", "show", "dev", qg).output();
        assertThat(addresses).contains(GATEWAY + "/24").contains(FLOATING + "/32");
        assertThat(namespaces.in(ns, "ip", "link", "show", qg).output()).contains(LEG_EXT.getMac()).contains("mtu 1500");
        String qr = "qr-" + LEG_A.getPortId().substring(0, 11);
        assertThat(namespaces.in(ns, "ip", "-o", "addr", "show", "dev", qr).output()).contains("10.60.0.1/24");
        assertThat(namespaces.in(ns, "ip", "link", "show", qr).output()).contains(LEG_A.getMac()).contains("mtu 1450");
        assertThat(namespaces.in(ns, "ip", "route", "show", "default").output()).contains("via " + OUTSIDE_ADDRESS);
        assertThat(namespaces.in(ns, "sysctl", "-n", "net.ipv4.ip_forward").output()).isEqualTo("1");
        // The legs' bridge ends are no guest's TAPs.
        assertThat(HostCommands.inNamespace(HOST).run("ip", "-o", "link", "show", "master", DeviceNames.bridge(A)))
                .contains("qrb" + LEG_A.getPortId().substring(0, 11)).doesNotContain("tap" + LEG_A.getPortId().substring(0, 11));
    }

    @Test
    @Order(6)
    void applyingTheSameStateAgainTouchesNothing() throws Exception {
        String before = snapshot();
        agent.apply(state(router(true)));
        assertThat(snapshot()).isEqualTo(before);
        assertThat(peerSeen(OUTSIDE, G1, FLOATING)).contains(OUTSIDE_ADDRESS);
    }

    @Test
    @Order(7)
    void aRouterThatCannotBeBuiltIsRefusedAndTheRestGoesOn() throws Exception {
        // Its leg's address lies outside the leg's subnet.
        RouterConfig broken = RouterConfig.newBuilder().setRouterId(BROKEN).setAdminStateUp(true)
                .addInterfaces(leg("rx300000-0000-4000-8000-0000000000c1", A, "fa:16:3e:31:00:09", SUBNET_A,
                        "10.99.0.1", "network:router_interface")).build();
        agent.apply(state(router(true), broken));
        assertThat(namespaces.named(PREFIX)).containsExactly(PREFIX + "qrouter-" + ROUTER);
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
    }

    @Test
    @Order(8)
    void aRestartedAgentLeavesARouterAloneAndRebuildsOneThatWentAway() throws Exception {
        String before = snapshot();
        agent = reconciler(true);
        agent.apply(state(router(true)));
        assertThat(snapshot()).isEqualTo(before);
        // As after a reboot of the host's network: the router's namespace and its legs are gone.
        HostCommands.local().run("ip", "netns", "del", PREFIX + "qrouter-" + ROUTER);
        // The kernel takes a namespace's devices down after the name is gone.
        String qgb = "qgb" + LEG_EXT.getPortId().substring(0, 11);
        for (int i = 0; i < 200 && HostCommands.inNamespace(HOST).attempt("ip", "link", "show", qgb).ok(); i++) {
            Thread.sleep(10);
        }
        assertThat(ping(OUTSIDE, FLOATING)).isFalse();
        agent = reconciler(true);
        agent.apply(state(router(true)));
        assertThat(ping(OUTSIDE, FLOATING)).isTrue();
        assertThat(peerSeen(OUTSIDE, G1, FLOATING)).contains(OUTSIDE_ADDRESS);
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
    }

    @Test
    @Order(9)
    void theConnectionsOfARemovedFloatingIpAreForgotten() {
        Assumptions.assumeTrue(HostCommands.local().attempt("conntrack", "--version").ok(),
                "skipped: conntrack (Debian's conntrack) is not installed; the agent then leaves the connections");
        String ns = PREFIX + "qrouter-" + ROUTER;
        assertThat(ping(OUTSIDE, FLOATING)).isTrue();
        assertThat(namespaces.in(ns, "conntrack", "-L", "-d", FLOATING).output()).contains("dst=" + FLOATING);
        agent.apply(state(router(false)));
        assertThat(namespaces.in(ns, "conntrack", "-L", "-d", FLOATING).output()).doesNotContain("dst=" + FLOATING);
        agent.apply(state(router(true)));
    }

    @Test
    @Order(10)
    void removingTheFloatingIpCutsItOff() throws Exception {
        agent.apply(state(router(false)));
        assertThat(ping(OUTSIDE, FLOATING)).isFalse();
        assertThat(peerSeen(OUTSIDE, G1, FLOATING)).isEmpty();
        assertThat(namespaces.in(PREFIX + "qrouter-" + ROUTER, "ip", "-o", "addr").output()).doesNotContain(FLOATING);
        // Its guest goes out like any other now.
        assertThat(peerSeen(G1, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
    }

    @Test
    @Order(11)
    void aRouterThatIsAdministrativelyDownForwardsNothingAndComesBack() throws Exception {
        agent.apply(state(router(true).toBuilder().setAdminStateUp(false).build()));
        String ns = PREFIX + "qrouter-" + ROUTER;
        assertThat(namespaces.in(ns, "ip", "-o", "link", "show", "up").output()).doesNotContain("qr-")
                .doesNotContain("qg-");
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).isEmpty();
        assertThat(ping(OUTSIDE, FLOATING)).isFalse();
        agent.apply(state(router(true)));
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
        assertThat(ping(OUTSIDE, FLOATING)).isTrue();
    }

    @Test
    @Order(12)
    void aHostWithoutTheL3RoleRunsNoRouter() throws Exception {
        reconciler(false).apply(state(router(true)));
        assertThat(namespaces.named(PREFIX)).isEmpty();
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).isEmpty();
        // The networks themselves stay.
        assertThat(HostCommands.inNamespace(HOST).run("ip", "-o", "link", "show")).contains(DeviceNames.bridge(A))
                .contains(DeviceNames.bridge(EXT)).doesNotContain("qrb").doesNotContain("qgb");
        agent.apply(state(router(true)));
        assertThat(peerSeen(G2, OUTSIDE, OUTSIDE_ADDRESS)).contains(GATEWAY);
    }

    @Test
    @Order(13)
    void removingTheRouterRemovesItsNamespaceLegsAndTable() {
        agent.apply(state());
        assertThat(namespaces.named(PREFIX)).isEmpty();
        String links = HostCommands.inNamespace(HOST).run("ip", "-o", "link", "show");
        assertThat(links).doesNotContain("qrb").doesNotContain("qgb").contains(DeviceNames.bridge(EXT));
        assertThat(ping(OUTSIDE, GATEWAY)).isFalse();
    }

    /** The host's devices and the router's legs, addresses, routes and NAT table (with the kernel's handles). */
    private static String snapshot() {
        String ns = PREFIX + "qrouter-" + ROUTER;
        return HostCommands.inNamespace(HOST).run("ip", "-o", "link", "show") + namespaces.in(ns, "ip", "-o", "link")
                .output() + namespaces.in(ns, "ip", "-o", "addr").output() + namespaces.in(ns, "ip", "route").output()
                + namespaces.in(ns, "nft", "-a", "list", "ruleset").output();
    }

    private static boolean ping(String from, String address) {
        return namespaces.in(from, "busybox", "ping", "-c", "2", "-W", "1", address).ok();
    }

    /**
     * The address a TCP listener on port 8080 in {@code to} sees a connection from {@code from} to
     * {@code address} come from; empty when none came.
     */
    private static String peerSeen(String from, String to, String address) throws Exception {
        Path seen = Files.createTempFile(dir, "peer", ".txt");
        // On accepting, the listener writes its connections (netstat -tn) to the file.
        Process listener = new ProcessBuilder("ip", "netns", "exec", to, "busybox", "nc", "-l", "-p", "8080", "-e",
                "sh", "-c", "busybox netstat -tn > " + seen).redirectErrorStream(true).start();
        try {
            for (int i = 0; i < 100 && !namespaces.in(to, "busybox", "netstat", "-ltn").output().contains(":8080 "); i++) {
                Thread.sleep(20);
            }
            HostCommands.local().attemptInput("hello\n", "ip", "netns", "exec", from, "busybox", "nc", "-w", "2",
                    address, "8080");
            listener.waitFor(3, TimeUnit.SECONDS);
        } finally {
            listener.destroyForcibly();
            listener.waitFor(2, TimeUnit.SECONDS);
        }
        String text = Files.readString(seen);
        Files.delete(seen);
        return text.lines().filter(l -> l.contains(":8080 ")).map(PEER::matcher).filter(Matcher::find)
                .map(m -> m.group(1)).findFirst().orElse("");
    }
}
