package io.stratus.agent.network;

import java.nio.file.Path;
import java.util.Map;

/**
 * How this host carries tenant networks.
 *
 * @param tunnelAddress      the local end of this host's VXLAN tunnels (reported as HostReport.tunnel_address)
 * @param physicalInterfaces flat networks: physical_network name to host interface
 * @param namespacePrefix    before {@code qdhcp-<network>}: empty on a real host; set per simulated
 *                           host, whose namespaces share the machine's namespace names
 * @param dhcpDir            dnsmasq's files, one directory per network
 */
public record NetworkSettings(String tunnelAddress, Map<String, String> physicalInterfaces, String namespacePrefix,
                              Path dhcpDir) {
    public NetworkSettings {
        physicalInterfaces = Map.copyOf(physicalInterfaces);
    }

    /** {@code physnet1:eth1,physnet2:eth2} (Neutron's physical_interface_mappings) as a map. */
    public static Map<String, String> mappings(String text) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String pair : text.split(",")) {
            if (pair.isBlank()) {
                continue;
            }
            String[] kv = pair.trim().split(":", 2);
            if (kv.length != 2 || kv[0].isBlank() || !kv[1].matches("[A-Za-z0-9_.-]{1,15}")) {
                throw new IllegalArgumentException("physical interface mapping '" + pair
                        + "' is not physical_network:interface");
            }
            m.put(kv[0].trim(), kv[1].trim());
        }
        return m;
    }
}
