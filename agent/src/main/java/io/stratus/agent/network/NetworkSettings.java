package io.stratus.agent.network;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * How this host carries tenant networks.
 *
 * @param tunnelAddress      the local end of this host's VXLAN tunnels (reported as HostReport.tunnel_address)
 * @param physicalInterfaces flat networks: physical_network name to host interface
 * @param namespacePrefix    before {@code qdhcp-<network>}: empty on a real host; set per simulated
 *                           host, whose namespaces share the machine's namespace names
 * @param dhcpDir            dnsmasq's files, one directory per network
 * @param metadataSocket     where the agent serves guests' metadata requests: with it, each DHCP
 *                           namespace also runs the metadata proxy (169.254.169.254) that
 *                           forwards to it; empty: no metadata proxy
 * @param l3Agent            whether this host runs tenants' routers (Neutron's L3 agent role): without
 *                           it the routers of a state are ignored and no router namespace is kept
 */
public record NetworkSettings(String tunnelAddress, Map<String, String> physicalInterfaces, String namespacePrefix,
                              Path dhcpDir, Optional<Path> metadataSocket, boolean l3Agent) {
    public NetworkSettings {
        physicalInterfaces = Map.copyOf(physicalInterfaces);
        Objects.requireNonNull(metadataSocket, "metadataSocket");
    }

    /** Without the L3 agent role. */
    public NetworkSettings(String tunnelAddress, Map<String, String> physicalInterfaces, String namespacePrefix,
                           Path dhcpDir, Optional<Path> metadataSocket) {
        this(tunnelAddress, physicalInterfaces, namespacePrefix, dhcpDir, metadataSocket, false);
    }

    /** Without a metadata proxy or the L3 agent role. */
    public NetworkSettings(String tunnelAddress, Map<String, String> physicalInterfaces, String namespacePrefix,
                           Path dhcpDir) {
        this(tunnelAddress, physicalInterfaces, namespacePrefix, dhcpDir, Optional.empty());
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

    /**
     * The address this host sends from towards {@code hostPort} (the Kafka bootstrap server): the
     * routing table's choice, found by connecting a UDP socket, which sends nothing. In
     * {@code bin/stratus up --agents N} that is each agent namespace's own address on the shared
     * bridge, which is what VXLAN between them must use.
     */
    public static Optional<String> sourceAddressTowards(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        int port = colon < 0 ? 9092 : Integer.parseInt(hostPort.substring(colon + 1));
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(new InetSocketAddress(host.replaceAll("^\\[|\\]$", ""), port));
            return Optional.of(s.getLocalAddress().getHostAddress()).filter(a -> !a.equals("0.0.0.0"));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether this process runs in a named network namespace ({@code ip netns}, under
     * {@code /run/netns}): a host simulated on a machine with others, whose DHCP namespaces must not
     * take each other's names. Compared by the namespace's inode, as {@code ip netns identify} does
     * ({@code /proc/1/ns/net} is not always readable, even for root, in a container).
     */
    public static boolean inNamedNetworkNamespace() {
        try (Stream<Path> named = Files.list(Path.of("/run/netns"))) {
            Object self = Files.getAttribute(Path.of("/proc/self/ns/net"), "unix:ino");
            return named.anyMatch(p -> {
                try {
                    return self.equals(Files.getAttribute(p, "unix:ino"));
                } catch (IOException | UnsupportedOperationException e) {
                    return false;
                }
            });
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
