package io.stratus.agent.network;

import static io.stratus.agent.network.States.subnet;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.HostRoute;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RouterConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValidRoutersTest {
    private static final NetworkSegment TENANT = NetworkSegment.newBuilder().setNetworkId("net-a")
            .setType(NetworkSegment.Type.VXLAN).setSegmentationId(5).addSubnets(subnet("sub-a", "10.0.0.0/24", "10.0.0.1"))
            .build();
    private static final NetworkSegment EXTERNAL = NetworkSegment.newBuilder().setNetworkId("net-x")
            .setType(NetworkSegment.Type.FLAT).setPhysicalNetwork("public")
            .addSubnets(subnet("sub-x", "203.0.113.0/24", "203.0.113.1")).build();

    private static PortBinding leg(String id, String network, String subnet, String ip) {
        return PortBinding.newBuilder().setPortId(id).setNetworkId(network).setMac("FA:16:3E:00:00:01")
                .addFixedIps(FixedIp.newBuilder().setSubnetId(subnet).setIpAddress(ip)).build();
    }

    private static RouterConfig.Builder router() {
        return RouterConfig.newBuilder().setRouterId("router-1").setAdminStateUp(true)
                .addInterfaces(leg("port-a", "net-a", "sub-a", "10.0.0.1"))
                .setGatewayPort(leg("port-x", "net-x", "sub-x", "203.0.113.10")).setEnableSnat(true)
                .addRoutes(HostRoute.newBuilder().setDestination("192.168.0.0/16").setNexthop("10.0.0.254"))
                .addFloatingIps(FloatingIpMapping.newBuilder().setFloatingIpAddress("203.0.113.20")
                        .setFixedIpAddress("10.0.0.5"));
    }

    private static List<String> refusals(RouterConfig... routers) {
        List<String> problems = new ArrayList<>();
        HostNetworkState valid = ValidState.of(HostNetworkState.newBuilder().addNetworks(TENANT).addNetworks(EXTERNAL)
                .addAllRouters(List.of(routers)).build(), problems::add);
        assertThat(valid.getRoutersCount() + problems.size()).isEqualTo(routers.length);
        return problems;
    }

    @Test
    void aWellFormedRouterIsKeptWithItsMacsInLowerCase() {
        List<String> problems = new ArrayList<>();
        HostNetworkState valid = ValidState.of(HostNetworkState.newBuilder().addNetworks(TENANT).addNetworks(EXTERNAL)
                .addRouters(router()).build(), problems::add);
        assertThat(problems).isEmpty();
        assertThat(valid.getRouters(0).getInterfaces(0).getMac()).isEqualTo("fa:16:3e:00:00:01");
        assertThat(valid.getRouters(0).getGatewayPort().getMac()).isEqualTo("fa:16:3e:00:00:01");
    }

    @Test
    void aLegAddressOutsideItsSubnetRefusesTheRouter() {
        assertThat(refusals(router().setInterfaces(0, leg("port-a", "net-a", "sub-a", "10.9.0.1")).build()))
                .singleElement().asString().contains("router router-1 refused", "not in its subnet 10.0.0.0/24");
    }

    @Test
    void aLegOnAnUnknownNetworkOrSubnetRefusesTheRouter() {
        assertThat(refusals(router().setInterfaces(0, leg("port-a", "net-q", "sub-a", "10.0.0.1")).build()))
                .singleElement().asString().contains("network 'net-q' is not among this host's networks");
        assertThat(refusals(router().setGatewayPort(leg("port-x", "net-x", "sub-a", "203.0.113.10")).build()))
                .singleElement().asString().contains("gateway port-x", "subnet 'sub-a' is not one of network net-x");
    }

    @Test
    void aFloatingIpNeedsAGatewayAndAFixedAddressOnTheRoutersSubnets() {
        assertThat(refusals(router().clearGatewayPort().build())).singleElement().asString()
                .contains("without a gateway");
        assertThat(refusals(router().setFloatingIps(0, FloatingIpMapping.newBuilder()
                .setFloatingIpAddress("203.0.113.20").setFixedIpAddress("10.7.0.5")).build())).singleElement()
                .asString().contains("is on none of the router's subnets");
        assertThat(refusals(router().setFloatingIps(0, FloatingIpMapping.newBuilder()
                .setFloatingIpAddress("2001:db8::20").setFixedIpAddress("10.0.0.5")).build())).singleElement()
                .asString().contains("both must be IPv4");
    }

    @Test
    void malformedIdsMacsAndRoutesRefuseTheRouterOnly() {
        List<String> problems = refusals(router().setRouterId("r;drop").build(),
                router().setRouterId("router-2").setInterfaces(0, leg("port-a", "net-a", "sub-a", "10.0.0.1").toBuilder()
                        .setMac("01:00:5e:00:00:01").build()).build(),
                router().setRouterId("router-3").setRoutes(0, HostRoute.newBuilder().setDestination("192.168.0.0/16")
                        .setNexthop("fd00::1")).build(),
                router().setRouterId("router-4").build(), router().setRouterId("router-4").build());
        assertThat(problems).hasSize(4);
        assertThat(problems.get(0)).contains("not a router id");
        assertThat(problems.get(1)).contains("not a unicast MAC");
        assertThat(problems.get(2)).contains("route to '192.168.0.0/16' via 'fd00::1'");
        assertThat(problems.get(3)).contains("router router-4 refused: listed twice");
    }

    @Test
    void twoLegsWhoseDeviceNamesWouldBeTheSameRefuseTheRouter() {
        assertThat(refusals(router().addInterfaces(leg("port-a", "net-a", "sub-a", "10.0.0.2")).build()))
                .singleElement().asString().contains("begins as another leg's");
    }
}
