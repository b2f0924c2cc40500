package io.stratus.agent.network;

/**
 * The names of the host's network devices and namespaces, as Neutron's Linux bridge agent names
 * them (interface names have at most 15 characters, hence the 11-character id prefixes).
 */
final class DeviceNames {
    static final String BRIDGE_PREFIX = "brq";
    static final String VXLAN_PREFIX = "vxlan-";
    static final String TAP_PREFIX = "tap";
    static final String DHCP_NAMESPACE = "qdhcp-";
    static final String ROUTER_NAMESPACE = "qrouter-";
    /** A router's leg on a tenant subnet, inside its namespace. */
    static final String ROUTER_INTERFACE = "qr-";
    /** A router's leg on its external network, inside its namespace. */
    static final String ROUTER_GATEWAY = "qg-";
    private static final int ID_CHARS = 11;

    private DeviceNames() {
    }

    static String bridge(String networkId) {
        return BRIDGE_PREFIX + shortId(networkId);
    }

    static String vxlan(int vni) {
        return VXLAN_PREFIX + vni;
    }

    static String tap(String portId) {
        return TAP_PREFIX + shortId(portId);
    }

    /** The DHCP port's end inside its namespace. */
    static String dhcpInside(String portId) {
        return "ns-" + shortId(portId);
    }

    /**
     * @param prefix set per simulated host: namespace names are global to the machine, not to the
     *               network namespace an agent runs in
     */
    static String dhcpNamespace(String prefix, String networkId) {
        return prefix + DHCP_NAMESPACE + networkId;
    }

    static String routerNamespace(String prefix, String routerId) {
        return prefix + ROUTER_NAMESPACE + routerId;
    }

    /** A router leg's end in the router's namespace: {@code qr-} or {@code qg-} and the port. */
    static String routerLegInside(String legPrefix, String portId) {
        return legPrefix + shortId(portId);
    }

    /**
     * A router leg's end on the network's bridge: {@code qrb} or {@code qgb} and the port (b for the
     * bridge's end, as Nova's qvb). Not {@code tap}, as Neutron's Linux bridge agent has it: here
     * {@code tap*} on a bridge is a guest's or a DHCP port's, which the packet filters hold to its
     * port's addresses and which keeps an unlisted network's bridge; a router forwards for many
     * addresses and never keeps a bridge.
     */
    static String routerLegOnBridge(String legPrefix, String portId) {
        return legPrefix.substring(0, 2) + "b" + shortId(portId);
    }

    private static String shortId(String id) {
        return id.length() <= ID_CHARS ? id : id.substring(0, ID_CHARS);
    }
}
