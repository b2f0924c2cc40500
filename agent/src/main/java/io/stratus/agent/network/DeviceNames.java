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

    private static String shortId(String id) {
        return id.length() <= ID_CHARS ? id : id.substring(0, ID_CHARS);
    }
}
