package io.stratus.agent.network;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.PortBinding;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/** The ports bound to this host, as a state lists them, found by what a packet shows of them. */
public final class BoundPorts {
    private BoundPorts() {
    }

    /**
     * The one port on network {@code networkId} with fixed IP {@code address} (Neutron's metadata
     * agent's lookup); empty when there is none, or more than one (a state that cannot say which).
     *
     * @param address a literal address as a proxy wrote it; anything else finds nothing
     */
    public static Optional<PortBinding> byFixedIp(HostNetworkState state, String networkId, String address) {
        Optional<InetAddress> wanted = Cidr.address(address);
        if (wanted.isEmpty()) {
            return Optional.empty();
        }
        List<PortBinding> found = state.getPortsList().stream().filter(p -> p.getNetworkId().equals(networkId))
                .filter(p -> p.getFixedIpsList().stream().map(FixedIp::getIpAddress).map(Cidr::address)
                        .anyMatch(a -> a.equals(wanted)))
                .toList();
        return found.size() == 1 ? Optional.of(found.get(0)) : Optional.empty();
    }
}
