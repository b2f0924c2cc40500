package io.stratus.agent.network;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RemoteEndpoint;
import io.stratus.proto.v1.SecurityGroupRule;
import io.stratus.proto.v1.SubnetConfig;
import java.util.List;

/** Hand-built pieces of {@code HostNetworkState}s, as the control plane would send them. */
final class States {
    private States() {
    }

    static SubnetConfig subnet(String id, String cidr, String gateway) {
        return SubnetConfig.newBuilder().setSubnetId(id).setIpVersion(4).setCidr(cidr).setGatewayIp(gateway)
                .setEnableDhcp(true).addDnsNameservers("192.0.2.53").build();
    }

    static PortBinding port(String id, String network, String mac, String subnet, String ip, String... groups) {
        return PortBinding.newBuilder().setPortId(id).setNetworkId(network).setMac(mac)
                .addFixedIps(FixedIp.newBuilder().setSubnetId(subnet).setIpAddress(ip)).setDeviceOwner("compute:nova")
                .setTap(DeviceNames.tap(id)).setAdminStateUp(true).setPortSecurityEnabled(groups.length > 0)
                .addAllSecurityGroupIds(List.of(groups)).build();
    }

    static PortBinding dhcpPort(String id, String network, String mac, String subnet, String ip) {
        return port(id, network, mac, subnet, ip).toBuilder().setDeviceOwner("network:dhcp").build();
    }

    static NetworkSegment vxlan(String id, int vni, SubnetConfig subnet, PortBinding dhcp, RemoteEndpoint... remotes) {
        return NetworkSegment.newBuilder().setNetworkId(id).setType(NetworkSegment.Type.VXLAN).setSegmentationId(vni)
                .setMtu(1450).addSubnets(subnet).setDhcpPort(dhcp).addAllRemoteEndpoints(List.of(remotes)).build();
    }

    static RemoteEndpoint remote(String host, String address, String... macs) {
        return RemoteEndpoint.newBuilder().setHost(host).setTunnelAddress(address).addAllMacs(List.of(macs)).build();
    }

    static SecurityGroupRule rule(SecurityGroupRule.Direction direction, int protocol, int min, int max) {
        SecurityGroupRule.Builder r = SecurityGroupRule.newBuilder().setRuleId(direction + "-" + protocol + "-" + min)
                .setDirection(direction).setIpVersion(4);
        if (protocol > 0) {
            r.setHasProtocol(true).setProtocol(protocol).setPortRangeMin(min).setPortRangeMax(max);
        }
        return r.build();
    }
}
