package io.stratus.scheduler.metadata;

import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.Subnet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code network_data.json}: an instance's links (its NICs), networks (an address, or DHCP, on
 * each) and services (DNS servers), as Nova's {@code nova/virt/netutils.py get_network_metadata}
 * writes them from the instance's ports — what cloud-init configures the guest's network from
 * when it does not simply ask DHCP.
 */
public final class NetworkData {
    /** Binding types Nova has always shown to guests as themselves; any other is {@code phy}. */
    private static final Set<String> EXPOSED_VIF_TYPES = Set.of("bridge", "dvs", "hw_veb", "hyperv", "ovs", "tap",
            "vhostuser", "vif");

    /**
     * One NIC of an instance: its port, the network's id and MTU (0: unknown), and the subnets of
     * its fixed IPs, in the port's order.
     *
     * @param devname the host-side device (Nova's VIF devname, the link's id)
     * @param vifType Neutron's binding:vif_type
     */
    public record Nic(String portId, String macAddress, String devname, String vifType, String networkId, int mtu,
                      List<NicSubnet> subnets) {
        public Nic {
            subnets = List.copyOf(subnets);
        }
    }

    /**
     * A subnet a NIC has addresses on.
     *
     * @param ips the NIC's addresses in it
     * @param dhcpServer the subnet's DHCP server (a DHCP port's address, else its gateway when DHCP
     *                   is on, as Nova fills it in), if it has one
     */
    public record NicSubnet(Subnet subnet, List<String> ips, Optional<String> dhcpServer) {
        public NicSubnet {
            ips = List.copyOf(ips);
        }
    }

    private NetworkData() {
    }

    /** The document for {@code nics}; empty for an instance without NICs (Nova then answers {@code {}}). */
    public static Optional<Map<String, Object>> of(List<Nic> nics) {
        if (nics.isEmpty()) {
            return Optional.empty();
        }
        List<Map<String, Object>> links = new ArrayList<>();
        List<Map<String, Object>> networks = new ArrayList<>();
        List<Map<String, Object>> services = new ArrayList<>();
        int link = -1;
        int network = -1;
        for (Nic nic : nics) {
            if (nic.subnets().isEmpty()) {
                continue;
            }
            // Like Nova, only the first IPv4 and the first IPv6 subnet of a NIC are described.
            Optional<NicSubnet> v4 = first(nic, 4);
            Optional<NicSubnet> v6 = first(nic, 6);
            link++;
            Map<String, Object> l = link(nic, link);
            links.add(l);
            for (Optional<NicSubnet> s : List.of(v4, v6)) {
                if (s.isPresent() && !s.get().ips().isEmpty()) {
                    network++;
                    networks.add(network(nic, s.get(), network, (String) l.get("id")));
                    for (Map<String, Object> dns : dns(s.get().subnet())) {
                        if (!services.contains(dns)) {
                            services.add(dns);
                        }
                    }
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("links", links);
        out.put("networks", networks);
        out.put("services", services);
        return Optional.of(out);
    }

    private static Optional<NicSubnet> first(Nic nic, int version) {
        return nic.subnets().stream().filter(s -> s.subnet().ipVersion() == version).findFirst();
    }

    private static Map<String, Object> link(Nic nic, int index) {
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("id", nic.devname().isEmpty() ? "interface" + index : nic.devname());
        l.put("vif_id", nic.portId());
        l.put("type", EXPOSED_VIF_TYPES.contains(nic.vifType()) ? nic.vifType() : "phy");
        // A subnet with a DHCP server tells the guest its MTU there; Nova leaves it out then.
        boolean dhcp = nic.subnets().stream().anyMatch(s -> s.dhcpServer().isPresent());
        l.put("mtu", dhcp || nic.mtu() <= 0 ? null : nic.mtu());
        l.put("ethernet_mac_address", nic.macAddress());
        return l;
    }

    private static Map<String, Object> network(Nic nic, NicSubnet s, int index, String linkId) {
        Subnet subnet = s.subnet();
        int version = subnet.ipVersion();
        Map<String, Object> n = new LinkedHashMap<>();
        n.put("id", "network" + index);
        String type = "ipv" + version;
        if (subnet.ipv6AddressMode().isPresent()) {
            type += "_" + subnet.ipv6AddressMode().get();
        } else if (s.dhcpServer().isPresent()) {
            n.put("type", type + "_dhcp");
            n.put("link", linkId);
            n.put("network_id", nic.networkId());
            return n;
        }
        n.put("type", type);
        n.put("link", linkId);
        n.put("ip_address", s.ips().get(0));
        n.put("netmask", subnet.cidr().netmask().toString());
        List<Map<String, Object>> routes = new ArrayList<>();
        subnet.gateway().ifPresent(g -> routes.add(route(version == 4 ? "0.0.0.0" : "::",
                version == 4 ? "0.0.0.0" : "::", g.toString())));
        for (Subnet.HostRoute r : subnet.hostRoutes()) {
            Cidr.parse(r.destination()).ifPresent(c -> routes.add(route(c.network().toString(),
                    c.netmask().toString(), r.nexthop())));
        }
        n.put("routes", routes);
        n.put("network_id", nic.networkId());
        n.put("services", dns(subnet));
        return n;
    }

    private static Map<String, Object> route(String network, String netmask, String gateway) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("network", network);
        r.put("netmask", netmask);
        r.put("gateway", gateway);
        return r;
    }

    private static List<Map<String, Object>> dns(Subnet subnet) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String address : subnet.dnsNameservers()) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("type", "dns");
            d.put("address", address);
            out.add(d);
        }
        return out;
    }
}
