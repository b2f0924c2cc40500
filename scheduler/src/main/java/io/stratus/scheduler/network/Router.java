package io.stratus.scheduler.network;

import io.stratus.scheduler.network.Subnet.HostRoute;
import java.util.List;
import java.util.Optional;

/**
 * A router (Neutron's): legs on tenant subnets (its interface ports), an optional gateway on an
 * external network with SNAT, extra routes, and the L3 host that runs it ({@code host}, empty
 * while none has the L3 role). Its gateway port is read with it: its addresses are part of what
 * the API shows.
 */
public record Router(String id, String projectId, String name, String description, boolean adminStateUp,
                     Optional<String> gatewayNetworkId, boolean enableSnat, List<HostRoute> routes, String host,
                     Optional<Port> gatewayPort, Revision revision) {
    /** The device_owner of a router's leg on a subnet. */
    public static final String INTERFACE_OWNER = "network:router_interface";
    /** The device_owner of a router's leg on its external network. */
    public static final String GATEWAY_OWNER = "network:router_gateway";

    public Router {
        routes = List.copyOf(routes);
    }

    /** Whether a port is one of a router's legs (never a guest's NIC). */
    public static boolean isLeg(Port p) {
        return p.deviceOwner().equals(INTERFACE_OWNER) || p.deviceOwner().equals(GATEWAY_OWNER);
    }
}
