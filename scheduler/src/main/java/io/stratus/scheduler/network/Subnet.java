package io.stratus.scheduler.network;

import java.util.List;
import java.util.Optional;

/** A subnet of a network: an address prefix, with what DHCP hands out and which addresses IPAM may give. */
public record Subnet(String id, String networkId, String projectId, String name, String description, Cidr cidr,
                     Optional<IpAddress> gateway, boolean enableDhcp, List<String> dnsNameservers,
                     List<HostRoute> hostRoutes, List<AddressRange> allocationPools, Optional<String> ipv6RaMode,
                     Optional<String> ipv6AddressMode, Optional<String> subnetPoolId, Revision revision) {
    public Subnet {
        dnsNameservers = List.copyOf(dnsNameservers);
        hostRoutes = List.copyOf(hostRoutes);
        allocationPools = List.copyOf(allocationPools);
    }

    public int ipVersion() {
        return cidr.version();
    }

    /** A static route DHCP hands out (Neutron's host_routes). */
    public record HostRoute(String destination, String nexthop) {
    }

    /** An inclusive range of addresses. */
    public record AddressRange(IpAddress start, IpAddress end) {
        public boolean contains(IpAddress a) {
            return a.compareTo(start) >= 0 && a.compareTo(end) <= 0;
        }

        public boolean overlaps(AddressRange o) {
            return start.compareTo(o.end) <= 0 && o.start.compareTo(end) <= 0;
        }
    }
}
