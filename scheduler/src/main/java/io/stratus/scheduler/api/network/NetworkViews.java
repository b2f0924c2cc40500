package io.stratus.scheduler.api.network;

import io.stratus.scheduler.network.FloatingIp;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.network.Revision;
import io.stratus.scheduler.network.Router;
import io.stratus.scheduler.network.RouterStore;
import io.stratus.scheduler.network.SecurityGroup;
import io.stratus.scheduler.network.SecurityGroupRule;
import io.stratus.scheduler.network.Subnet;
import io.stratus.scheduler.network.SubnetPool;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The resources as Neutron's API shows them. Admin-only attributes appear for admins only. */
final class NetworkViews {
    private NetworkViews() {
    }

    static Map<String, Object> network(Network n, List<String> subnetIds, boolean admin) {
        Map<String, Object> m = owned(n.id(), n.name(), n.description(), n.projectId());
        m.put("admin_state_up", n.adminStateUp());
        m.put("status", "ACTIVE");
        m.put("subnets", subnetIds);
        m.put("shared", n.shared());
        m.put("router:external", n.external());
        m.put("mtu", n.mtu());
        m.put("port_security_enabled", n.portSecurityEnabled());
        m.put("availability_zone_hints", List.of());
        m.put("availability_zones", List.of("nova"));
        m.put("ipv4_address_scope", null);
        m.put("ipv6_address_scope", null);
        if (admin) {
            m.put("provider:network_type", n.type().apiName());
            m.put("provider:segmentation_id", n.segmentationId().orElse(null));
            m.put("provider:physical_network", n.physicalNetwork().orElse(null));
        }
        return standard(m, n.revision());
    }

    static Map<String, Object> subnet(Subnet s) {
        Map<String, Object> m = owned(s.id(), s.name(), s.description(), s.projectId());
        m.put("network_id", s.networkId());
        m.put("ip_version", s.ipVersion());
        m.put("cidr", s.cidr().toString());
        m.put("gateway_ip", s.gateway().map(IpAddress::toString).orElse(null));
        m.put("enable_dhcp", s.enableDhcp());
        m.put("dns_nameservers", s.dnsNameservers());
        m.put("host_routes", s.hostRoutes().stream().map(r -> Map.of("destination", r.destination(), "nexthop",
                r.nexthop())).toList());
        m.put("allocation_pools", s.allocationPools().stream().map(p -> Map.of("start", p.start().toString(), "end",
                p.end().toString())).toList());
        m.put("ipv6_ra_mode", s.ipv6RaMode().orElse(null));
        m.put("ipv6_address_mode", s.ipv6AddressMode().orElse(null));
        m.put("subnetpool_id", s.subnetPoolId().orElse(null));
        m.put("service_types", List.of());
        return standard(m, s.revision());
    }

    static Map<String, Object> port(Port p, boolean admin) {
        Map<String, Object> m = owned(p.id(), p.name(), p.description(), p.projectId());
        m.put("network_id", p.networkId());
        m.put("mac_address", p.macAddress());
        m.put("admin_state_up", p.adminStateUp());
        m.put("status", p.bound() && p.adminStateUp() ? "ACTIVE" : "DOWN");
        m.put("device_id", p.deviceId());
        m.put("device_owner", p.deviceOwner());
        m.put("fixed_ips", p.fixedIps().stream().map(f -> Map.of("subnet_id", f.subnetId(), "ip_address",
                f.ipAddress())).toList());
        m.put("security_groups", p.securityGroups());
        m.put("allowed_address_pairs", p.allowedAddressPairs().stream().map(a -> Map.of("ip_address", a.ipAddress(),
                "mac_address", a.macAddress().isEmpty() ? p.macAddress() : a.macAddress())).toList());
        m.put("port_security_enabled", p.portSecurityEnabled());
        m.put("binding:vnic_type", p.vnicType());
        if (admin) {
            m.put("binding:host_id", p.hostId());
            m.put("binding:vif_type", p.vifType());
            m.put("binding:vif_details", Map.of());
            m.put("binding:profile", Map.of());
        }
        return standard(m, p.revision());
    }

    static Map<String, Object> securityGroup(SecurityGroup g) {
        Map<String, Object> m = owned(g.id(), g.name(), g.description(), g.projectId());
        m.put("security_group_rules", g.rules().stream().map(NetworkViews::rule).toList());
        m.put("stateful", true);
        m.put("shared", false);
        return standard(m, g.revision());
    }

    static Map<String, Object> rule(SecurityGroupRule r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("security_group_id", r.securityGroupId());
        m.put("tenant_id", r.projectId());
        m.put("project_id", r.projectId());
        m.put("direction", r.direction().name().toLowerCase(java.util.Locale.ROOT));
        m.put("ethertype", r.ethertype());
        m.put("protocol", r.protocol().orElse(null));
        m.put("port_range_min", r.portRangeMin().orElse(null));
        m.put("port_range_max", r.portRangeMax().orElse(null));
        m.put("remote_ip_prefix", r.remoteIpPrefix().orElse(null));
        m.put("remote_group_id", r.remoteGroupId().orElse(null));
        m.put("remote_address_group_id", null);
        m.put("description", r.description());
        return standard(m, r.revision());
    }

    static Map<String, Object> subnetPool(SubnetPool p) {
        Map<String, Object> m = owned(p.id(), p.name(), p.description(), p.projectId());
        m.put("ip_version", p.ipVersion());
        m.put("prefixes", p.prefixes().stream().map(Object::toString).toList());
        m.put("default_prefixlen", p.defaultPrefixlen());
        m.put("min_prefixlen", p.minPrefixlen());
        m.put("max_prefixlen", p.maxPrefixlen());
        m.put("shared", p.shared());
        m.put("is_default", p.isDefault());
        m.put("default_quota", null);
        m.put("address_scope_id", null);
        return standard(m, p.revision());
    }

    static Map<String, Object> router(Router r) {
        Map<String, Object> m = owned(r.id(), r.name(), r.description(), r.projectId());
        m.put("admin_state_up", r.adminStateUp());
        m.put("status", "ACTIVE");
        m.put("external_gateway_info", r.gatewayNetworkId().map(n -> {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("network_id", n);
            g.put("enable_snat", r.enableSnat());
            g.put("external_fixed_ips", r.gatewayPort().map(p -> p.fixedIps().stream().map(f -> Map.of("subnet_id",
                    f.subnetId(), "ip_address", f.ipAddress())).toList()).orElse(List.of()));
            return g;
        }).orElse(null));
        m.put("routes", r.routes().stream().map(x -> Map.of("destination", x.destination(), "nexthop",
                x.nexthop())).toList());
        return standard(m, r.revision());
    }

    static Map<String, Object> routerInterface(RouterStore.Interface i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.routerId());
        m.put("subnet_id", i.subnetId());
        m.put("subnet_ids", i.subnetIds());
        m.put("port_id", i.portId());
        m.put("network_id", i.networkId());
        m.put("tenant_id", i.projectId());
        m.put("project_id", i.projectId());
        return m;
    }

    static Map<String, Object> floatingIp(FloatingIp f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.id());
        m.put("tenant_id", f.projectId());
        m.put("project_id", f.projectId());
        m.put("description", f.description());
        m.put("floating_network_id", f.floatingNetworkId());
        m.put("floating_ip_address", f.floatingIpAddress());
        m.put("router_id", f.routerId().orElse(null));
        m.put("port_id", f.portId().orElse(null));
        m.put("fixed_ip_address", f.fixedIpAddress().orElse(null));
        // Neutron's agent reports ACTIVE once it has built the mapping; here: while it is mapped.
        m.put("status", f.associated() ? "ACTIVE" : "DOWN");
        return standard(m, f.revision());
    }

    private static Map<String, Object> owned(String id, String name, String description, String projectId) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("name", name);
        m.put("description", description);
        m.put("tenant_id", projectId);
        m.put("project_id", projectId);
        return m;
    }

    /** Neutron's standard attributes: timestamps in whole seconds, the revision, tags. */
    private static Map<String, Object> standard(Map<String, Object> m, Revision r) {
        m.put("tags", List.of());
        m.put("created_at", r.createdAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("updated_at", r.updatedAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("revision_number", r.number());
        return m;
    }
}
