package io.stratus.scheduler.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.database.Database;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.RouterConfig;
import io.stratus.scheduler.network.Subnet.AddressRange;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The network model on one database (H2 or PostgreSQL, per subclass), through two sets of stores
 * on two connection pools: two scheduler replicas sharing the database.
 */
abstract class NetworkContract {
    /** One replica's stores, telling which hosts each change concerned. */
    static final class Replica {
        final Set<String> told = ConcurrentHashMap.newKeySet();
        final NetworkStore networks;
        final SubnetStore subnets;
        final SecurityGroupStore groups;
        final PortStore ports;
        final NetworkService service;
        final HostNetworkStates states;
        final RouterStore routers;
        final FloatingIpStore floatingIps;

        Replica(Database db) {
            Clock clock = Clock.systemUTC();
            networks = new NetworkStore(db.dataSource(), clock, told::addAll);
            subnets = new SubnetStore(db.dataSource(), clock, told::addAll);
            groups = new SecurityGroupStore(db.dataSource(), clock, told::addAll);
            ports = new PortStore(db.dataSource(), clock, groups, told::addAll);
            service = new NetworkService(networks, subnets, ports);
            states = new HostNetworkStates(db.dataSource(), clock);
            routers = new RouterStore(db.dataSource(), clock, ports, told::addAll);
            floatingIps = new FloatingIpStore(db.dataSource(), clock, ports, told::addAll);
        }
    }

    private final List<Database> pools = new ArrayList<>();
    Replica one;
    Replica two;

    /** A fresh, empty database's URL. */
    abstract String databaseUrl() throws Exception;

    abstract Database open(String url);

    @BeforeEach
    void start() throws Exception {
        String url = databaseUrl();
        pools.add(open(url));
        pools.add(open(url));
        one = new Replica(pools.get(0));
        two = new Replica(pools.get(1));
    }

    @AfterEach
    void stop() {
        pools.forEach(Database::close);
    }

    Network network(Replica r, String project, boolean shared) {
        return r.networks.create(new NetworkStore.Spec(project, "net", "", true, shared, false, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), true));
    }

    Subnet subnet(Replica r, Network n, String cidr) {
        return r.subnets.create(new SubnetStore.Spec(n.id(), n.projectId(), "sub", "", 4,
                new SubnetStore.Prefix.Given(Cidr.parse(cidr).orElseThrow()), new SubnetStore.Gateway.Default(), true,
                List.of(), List.of(), Optional.empty(), Optional.empty(), Optional.empty()));
    }

    PortStore.Spec port(Network n, String project) {
        return new PortStore.Spec(n.id(), project, "", "", Optional.empty(), true, "", "", "", "normal",
                Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false);
    }

    @Test
    void concurrentPortsOnTwoReplicasNeverShareAnAddress() throws Exception {
        Network n = network(one, "p1", false);
        Subnet s = subnet(one, n, "10.9.0.0/24");
        int threads = 8;
        int each = 12;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<String>>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Replica r = t % 2 == 0 ? one : two;
            results.add(pool.submit(() -> {
                List<String> ips = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                    ips.add(r.ports.create(List.of(port(n, "p1"))).get(0).fixedIps().get(0).ipAddress());
                }
                return ips;
            }));
        }
        List<String> all = new ArrayList<>();
        for (Future<List<String>> f : results) {
            all.addAll(f.get());
        }
        pool.shutdown();
        assertThat(all).hasSize(threads * each).doesNotHaveDuplicates()
                .allSatisfy(ip -> assertThat(s.cidr().contains(IpAddress.parse(ip).orElseThrow())).isTrue())
                .doesNotContain("10.9.0.0", "10.9.0.1", "10.9.0.255");
        // First free addresses in the pool: exactly .2 to .97, no gaps.
        Set<String> expected = new HashSet<>();
        for (int i = 2; i < 2 + threads * each; i++) {
            expected.add("10.9.0." + i);
        }
        assertThat(new HashSet<>(all)).isEqualTo(expected);
    }

    @Test
    void anAddressInUseIsRefusedAndAPoolOutsideTheCidrIsInvalid() {
        Network n = network(one, "p1", false);
        Subnet s = subnet(one, n, "10.8.0.0/28");
        PortStore.Spec at = new PortStore.Spec(n.id(), "p1", "", "", Optional.empty(), true, "", "", "", "normal",
                Optional.empty(), Optional.of(List.of(new PortStore.IpRequest(Optional.of(s.id()),
                IpAddress.parse("10.8.0.5")))), Optional.empty(), List.of(), false);
        one.ports.create(List.of(at));
        assertThatThrownBy(() -> two.ports.create(List.of(at))).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.type()).isEqualTo("IpAddressAlreadyAllocated"));
        assertThatThrownBy(() -> one.subnets.create(new SubnetStore.Spec(network(one, "p1", false).id(), "p1", "", "",
                4, new SubnetStore.Prefix.Given(Cidr.parse("10.7.0.0/28").orElseThrow()),
                new SubnetStore.Gateway.Default(), true, List.of(), List.of(), Optional.of(List.of(new AddressRange(
                IpAddress.parse("10.7.0.2").orElseThrow(), IpAddress.parse("10.7.0.20").orElseThrow()))),
                Optional.empty(), Optional.empty()))).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.type()).isEqualTo("OutOfBoundsAllocationPool"));
        assertThatThrownBy(() -> subnet(one, n, "10.8.0.8/29")).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.getMessage()).contains("overlaps with another subnet"));
        assertThatThrownBy(() -> one.networks.delete(n.id())).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.type()).isEqualTo("NetworkInUse"));
    }

    @Test
    void vxlanNetworksGetDistinctVnisAcrossReplicas() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Network>> made = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Replica r = i % 2 == 0 ? one : two;
            made.add(pool.submit(() -> network(r, "p1", false)));
        }
        Set<Integer> vnis = new HashSet<>();
        for (Future<Network> f : made) {
            vnis.add(f.get().segmentationId().orElseThrow());
        }
        pool.shutdown();
        assertThat(vnis).hasSize(16);
    }

    @Test
    void aServerGetsItsPortsAllOrNothingAndAutoNeedsExactlyOneNetwork() {
        assertThatThrownBy(() -> one.service.allocateForServer("p1", "vm1", List.of(new NetworkRequest.Auto())))
                .isInstanceOfSatisfying(NetworkException.class, e -> assertThat(e.type()).isEqualTo("NoNetworkFound"));
        Network shared = network(one, "admin", true);
        subnet(one, shared, "10.1.0.0/24");
        List<Port> auto = one.service.allocateForServer("p1", "vm1", List.of(new NetworkRequest.Auto()));
        assertThat(auto).singleElement().satisfies(p -> {
            assertThat(p.deviceOwner()).isEqualTo(Port.COMPUTE_OWNER);
            assertThat(p.deviceId()).isEqualTo("vm1");
            assertThat(p.macAddress()).startsWith("fa:16:3e:");
            assertThat(p.securityGroups()).containsExactly(one.groups.ensureDefault("p1").id());
        });
        Network own = network(one, "p1", false);
        subnet(one, own, "10.2.0.0/24");
        assertThatThrownBy(() -> one.service.allocateForServer("p1", "vm2", List.of(new NetworkRequest.Auto())))
                .isInstanceOfSatisfying(NetworkException.class, e -> assertThat(e.getMessage())
                        .contains("Multiple possible networks found"));
        Port brought = one.ports.create(List.of(port(own, "p1"))).get(0);
        // The second request fails (the address is the gateway): nothing of the first stays.
        assertThatThrownBy(() -> one.service.allocateForServer("p1", "vm2", List.of(
                new NetworkRequest.ExistingPort(brought.id()), new NetworkRequest.OnNetwork(own.id(),
                        Optional.of("10.2.0.1"))))).isInstanceOf(NetworkException.class);
        assertThat(one.ports.get(brought.id()).deviceId()).isEmpty();
        assertThat(one.service.portsOf("vm2")).isEmpty();
        one.service.allocateForServer("p1", "vm2", List.of(new NetworkRequest.ExistingPort(brought.id())));
        assertThatThrownBy(() -> one.service.allocateForServer("p1", "vm3", List.of(
                new NetworkRequest.ExistingPort(brought.id())))).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.type()).isEqualTo("PortInUse"));
        one.service.releaseServer("vm2");
        assertThat(one.ports.get(brought.id()).deviceId()).isEmpty();
        one.service.releaseServer("vm1");
        assertThat(one.ports.find(auto.get(0).id())).isEmpty();
    }

    @Test
    void bindingBuildsEachHostsStateWithDhcpTunnelsAndGroups() {
        Network n = network(one, "p1", false);
        Subnet s = subnet(one, n, "10.3.0.0/24");
        registerTunnel("host-a", "192.0.2.1");
        registerTunnel("host-b", "192.0.2.2");
        Port a = one.service.allocateForServer("p1", "vm-a", List.of(new NetworkRequest.OnNetwork(n.id(),
                Optional.empty()))).get(0);
        Port b = one.service.allocateForServer("p1", "vm-b", List.of(new NetworkRequest.OnNetwork(n.id(),
                Optional.empty()))).get(0);
        long before = one.states.build("host-a").getGeneration();
        one.told.clear();
        one.service.bindServer("vm-a", "host-a");
        two.service.bindServer("vm-b", "host-b");
        assertThat(one.told).contains("host-a");
        assertThat(two.told).contains("host-a", "host-b");

        HostNetworkState state = one.states.build("host-a");
        assertThat(state.getGeneration()).isGreaterThan(before);
        assertThat(state.getNetworksList()).singleElement().satisfies(seg -> {
            assertThat(seg.getType()).isEqualTo(NetworkSegment.Type.VXLAN);
            assertThat(seg.getSegmentationId()).isEqualTo(n.segmentationId().orElseThrow());
            assertThat(seg.getSubnetsList()).singleElement().satisfies(c -> {
                assertThat(c.getCidr()).isEqualTo("10.3.0.0/24");
                assertThat(c.getGatewayIp()).isEqualTo("10.3.0.1");
            });
            assertThat(seg.getDhcpPort().getDeviceId()).isEqualTo("dhcp-host-a");
            assertThat(seg.getDhcpPort().getFixedIpsList()).singleElement()
                    .satisfies(ip -> assertThat(ip.getSubnetId()).isEqualTo(s.id()));
            assertThat(seg.getRemoteEndpointsList()).singleElement().satisfies(r -> {
                assertThat(r.getHost()).isEqualTo("host-b");
                assertThat(r.getTunnelAddress()).isEqualTo("192.0.2.2");
                assertThat(r.getMacsList()).contains(b.macAddress());
            });
        });
        assertThat(state.getPortsList()).singleElement().satisfies(p -> {
            assertThat(p.getPortId()).isEqualTo(a.id());
            assertThat(p.getTap()).isEqualTo("tap" + a.id().substring(0, 11));
            assertThat(p.getSecurityGroupIdsList()).containsExactlyElementsOf(a.securityGroups());
        });
        // The default group: its rules take its own members as remote group, whose addresses are listed.
        assertThat(state.getSecurityGroupsList()).singleElement().satisfies(g -> {
            assertThat(g.getRulesCount()).isEqualTo(4);
            assertThat(g.getMemberIpsList()).contains(a.fixedIps().get(0).ipAddress(), b.fixedIps().get(0)
                    .ipAddress());
        });

        // A rule added to the group changes the filters of both hosts.
        one.told.clear();
        one.groups.addRule(new SecurityGroupRule("r1", a.securityGroups().get(0), "p1",
                SecurityGroupRule.Direction.INGRESS, "IPv4", Optional.of("tcp"), Optional.of(22), Optional.of(22),
                Optional.of("0.0.0.0/0"), Optional.empty(), "", Revision.first(java.time.Instant.now())));
        assertThat(one.told).contains("host-a", "host-b");

        one.service.releaseServer("vm-b");
        HostNetworkState after = one.states.build("host-a");
        assertThat(after.getNetworks(0).getRemoteEndpointsList()).isEmpty();
        assertThat(one.states.build("host-b").getNetworksList()).isEmpty();
        one.service.bindServer("vm-a", "");
        assertThat(one.states.build("host-a").getNetworksList()).isEmpty();
        assertThat(one.ports.list()).extracting(Port::deviceOwner).doesNotContain(Port.DHCP_OWNER);
    }

    @Test
    void aRouterRunsOnAnL3HostWithItsLegsGatewayRoutesAndFloatingIps() {
        Network external = one.networks.create(new NetworkStore.Spec("admin", "public", "", true, false, true,
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), true));
        Subnet publicSubnet = subnet(one, external, "203.0.113.0/24");
        Network n = network(one, "p1", false);
        Subnet s = subnet(one, n, "10.5.0.0/24");
        registerTunnel("host-b", "192.0.2.2");
        Router r = one.routers.create(new RouterStore.Spec("p1", "r1", "", true, Optional.empty()));
        assertThat(r.host()).as("no L3 host yet").isEmpty();

        one.told.clear();
        registerL3("l3-a", "192.0.2.10", true);
        assertThat(one.routers.get(r.id()).host()).isEqualTo("l3-a");
        one.routers.update(r.id(), new RouterStore.Change(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.of(Optional.of(new RouterStore.Gateway(external.id(), Optional.empty(), Optional.empty()))),
                Optional.empty()));
        RouterStore.Interface leg = two.routers.addSubnet(r.id(), s.id());
        assertThat(two.told).contains("l3-a");
        Port vm = one.service.allocateForServer("p1", "vm-b", List.of(new NetworkRequest.OnNetwork(n.id(),
                Optional.empty()))).get(0);
        one.service.bindServer("vm-b", "host-b");
        FloatingIp fip = one.floatingIps.create(new FloatingIpStore.Spec("p1", external.id(), Optional.empty(),
                Optional.empty(), "", Optional.of(vm.id()), Optional.empty()));
        assertThat(fip.routerId()).contains(r.id());
        assertThat(fip.fixedIpAddress()).contains(vm.fixedIps().get(0).ipAddress());
        one.routers.update(r.id(), new RouterStore.Change(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of(List.of(new Subnet.HostRoute("192.168.7.0/24", "10.5.0.9")))));

        HostNetworkState l3 = one.states.build("l3-a");
        assertThat(l3.getPortsList()).as("a router's legs are not guests' ports").isEmpty();
        assertThat(l3.getNetworksList()).extracting(NetworkSegment::getNetworkId)
                .containsExactlyInAnyOrder(n.id(), external.id());
        assertThat(l3.getRoutersList()).singleElement().satisfies(c -> {
            assertThat(c.getRouterId()).isEqualTo(r.id());
            assertThat(c.getAdminStateUp()).isTrue();
            assertThat(c.getEnableSnat()).isTrue();
            assertThat(c.getGatewayPort().getDeviceOwner()).isEqualTo(Router.GATEWAY_OWNER);
            assertThat(c.getGatewayPort().getFixedIps(0).getSubnetId()).isEqualTo(publicSubnet.id());
            assertThat(c.getInterfacesList()).singleElement().satisfies(i -> {
                assertThat(i.getPortId()).isEqualTo(leg.portId());
                assertThat(i.getFixedIps(0).getIpAddress()).isEqualTo("10.5.0.1");
            });
            assertThat(c.getRoutesList()).singleElement().satisfies(x ->
                    assertThat(x.getNexthop()).isEqualTo("10.5.0.9"));
            assertThat(c.getFloatingIpsList()).singleElement().satisfies(m -> {
                assertThat(m.getFloatingIpAddress()).isEqualTo(fip.floatingIpAddress());
                assertThat(m.getFixedIpAddress()).isEqualTo(vm.fixedIps().get(0).ipAddress());
                assertThat(m.getPortId()).isEqualTo(vm.id());
            });
        });
        Port interfacePort = one.ports.get(leg.portId());
        assertThat(one.states.build("host-b").getNetworksList()).filteredOn(seg -> seg.getNetworkId().equals(n.id()))
                .singleElement().satisfies(seg -> assertThat(seg.getRemoteEndpointsList())
                        .anySatisfy(e -> {
                            assertThat(e.getHost()).isEqualTo("l3-a");
                            assertThat(e.getMacsList()).contains(interfacePort.macAddress());
                        }));
        assertThat(one.states.build("host-b").getRoutersList()).isEmpty();

        assertThatThrownBy(() -> one.routers.removeSubnet(r.id(), s.id())).isInstanceOfSatisfying(
                NetworkException.class, e -> assertThat(e.type()).isEqualTo("RouterInterfaceInUseByFloatingIP"));
        assertThatThrownBy(() -> one.routers.delete(r.id())).isInstanceOfSatisfying(NetworkException.class,
                e -> assertThat(e.type()).isEqualTo("RouterInUse"));
        // The server goes with its port: the floating IP stays, unmapped.
        one.service.releaseServer("vm-b");
        assertThat(one.floatingIps.get(fip.id()).associated()).isFalse();
        assertThat(one.states.build("l3-a").getRouters(0).getFloatingIpsList()).isEmpty();
        assertThatThrownBy(() -> one.routers.removeSubnet(r.id(), s.id())).isInstanceOfSatisfying(
                NetworkException.class, e -> assertThat(e.type()).isEqualTo("RouterInterfaceInUse"));

        // A second L3 host takes the next router (fewest first); when the first loses the role, its router moves.
        registerL3("l3-b", "192.0.2.11", true);
        Router second = one.routers.create(new RouterStore.Spec("p1", "r2", "", true, Optional.empty()));
        assertThat(second.host()).isEqualTo("l3-b");
        registerL3("l3-a", "192.0.2.10", false);
        assertThat(one.routers.get(r.id()).host()).isEqualTo("l3-b");
        assertThat(one.ports.get(leg.portId()).hostId()).isEqualTo("l3-b");
        assertThat(one.states.build("l3-a").getRoutersList()).isEmpty();
        assertThat(one.states.build("l3-b").getRoutersList()).extracting(RouterConfig::getRouterId)
                .containsExactlyInAnyOrder(r.id(), second.id());
    }

    private void registerL3(String host, String address, boolean l3) {
        new NetworkStatePublisher(pools.get(0).dataSource(), one.states, new org.apache.kafka.clients.producer
                .MockProducer<>(true, null, new org.apache.kafka.common.serialization.StringSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer()), Clock.systemUTC())
                .reported(host, address, l3);
    }

    private void registerTunnel(String host, String address) {
        new NetworkStatePublisher(pools.get(0).dataSource(), one.states, new org.apache.kafka.clients.producer
                .MockProducer<>(true, null, new org.apache.kafka.common.serialization.StringSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer()), Clock.systemUTC())
                .reported(host, address, false);
    }
}
