package io.stratus.agent.network;

import static io.stratus.agent.network.States.dhcpPort;
import static io.stratus.agent.network.States.port;
import static io.stratus.agent.network.States.subnet;
import static io.stratus.agent.network.States.vxlan;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.HostRoute;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DnsmasqFilesTest {
    private static final String NET = "aaaaaaaa-0000-4000-8000-00000000000a";

    @Test
    void staticLeasesForThisHostsPortsWithGatewayDnsMtuAndClasslessRoutes() {
        var s = subnet("s1", "10.0.0.0/24", "10.0.0.1").toBuilder()
                .addHostRoutes(HostRoute.newBuilder().setDestination("169.254.169.254/32").setNexthop("10.0.0.2")).build();
        var network = vxlan(NET, 7, s, dhcpPort("d1", NET, "fa:16:3e:00:00:0d", "s1", "10.0.0.2"));
        var files = DnsmasqFiles.of(network, List.of(port("p1", NET, "fa:16:3e:00:00:01", "s1", "10.0.0.5")),
                Path.of("/run/x"), false);
        assertThat(files.config()).contains("interface=ns-d1", "dhcp-range=set:subnet0,10.0.0.0,static,255.255.255.0,86400s",
                "dhcp-hostsfile=/run/x/hosts", "port=0", "dhcp-ignore=tag:!known");
        assertThat(files.hosts()).isEqualTo("fa:16:3e:00:00:01,10.0.0.5\n");
        assertThat(files.options()).contains("tag:subnet0,option:router,10.0.0.1\n",
                "tag:subnet0,option:dns-server,192.0.2.53\n", "tag:subnet0,option:mtu,1450\n",
                "tag:subnet0,option:classless-static-route,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1\n");
    }

    @Test
    void aSubnetWithoutGatewaySendsNoRouterAndOneWithoutDhcpIsNotServed() {
        var network = vxlan(NET, 7, subnet("s1", "10.0.0.0/24", ""), dhcpPort("d1", NET, "fa:16:3e:00:00:0d", "s1",
                "10.0.0.2")).toBuilder().addSubnets(subnet("s2", "10.1.0.0/24", "10.1.0.1").toBuilder()
                .setEnableDhcp(false)).build();
        var files = DnsmasqFiles.of(network, List.of(port("p1", NET, "fa:16:3e:00:00:01", "s2", "10.1.0.5")),
                Path.of("/run/x"), false);
        assertThat(files.options()).contains("tag:subnet0,option:router\n");
        assertThat(files.config()).doesNotContain("10.1.0.0");
        assertThat(files.hosts()).isEmpty();
    }

    @Test
    void withTheMetadataProxyEachIpv4SubnetRoutesTheMetadataAddressToTheDhcpPort() {
        var network = vxlan(NET, 7, subnet("s1", "10.0.0.0/24", "10.0.0.1"), dhcpPort("d1", NET, "fa:16:3e:00:00:0d",
                "s1", "10.0.0.2")).toBuilder().addSubnets(subnet("s2", "10.1.0.0/24", "")).setDhcpPort(
                dhcpPort("d1", NET, "fa:16:3e:00:00:0d", "s1", "10.0.0.2").toBuilder().addFixedIps(
                        io.stratus.proto.v1.FixedIp.newBuilder().setSubnetId("s2").setIpAddress("10.1.0.2"))).build();
        var files = DnsmasqFiles.of(network, List.of(port("p1", NET, "fa:16:3e:00:00:01", "s1", "10.0.0.5")),
                Path.of("/run/x"), true);
        // As Neutron's force_metadata sends them: the metadata route, then the default route when
        // the subnet has a gateway (a client given classless routes ignores the router option).
        assertThat(files.options()).contains(
                "tag:subnet0,option:classless-static-route,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1\n",
                "tag:subnet1,option:classless-static-route,169.254.169.254/32,10.1.0.2\n");
        assertThat(DnsmasqFiles.of(network, List.of(), Path.of("/run/x"), false).options())
                .doesNotContain("169.254.169.254");
    }

    @Test
    void aMetadataRouteTheSubnetGivesIsKeptAndNotDoubled() {
        var s = subnet("s1", "10.0.0.0/24", "10.0.0.1").toBuilder()
                .addHostRoutes(HostRoute.newBuilder().setDestination("169.254.169.254/32").setNexthop("10.0.0.9")).build();
        var files = DnsmasqFiles.of(vxlan(NET, 7, s, dhcpPort("d1", NET, "fa:16:3e:00:00:0d", "s1", "10.0.0.2")),
                List.of(), Path.of("/run/x"), true);
        assertThat(files.options()).contains(
                "tag:subnet0,option:classless-static-route,169.254.169.254/32,10.0.0.9,0.0.0.0/0,10.0.0.1\n");
    }
}
