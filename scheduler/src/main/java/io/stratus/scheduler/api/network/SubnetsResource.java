package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.Subnet;
import io.stratus.scheduler.network.Subnet.AddressRange;
import io.stratus.scheduler.network.Subnet.HostRoute;
import io.stratus.scheduler.network.SubnetStore;
import io.stratus.scheduler.network.SubnetStore.Gateway;
import io.stratus.scheduler.network.SubnetStore.Prefix;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code /network/v2.0/subnets}: a subnet is seen by its network's owner and, on a shared network,
 * by everyone (an external network's subnets stay hidden unless it is shared, as Neutron's policy
 * has it); made by the network's owner.
 */
@Path("/network/v2.0/subnets")
@Produces(MediaType.APPLICATION_JSON)
public class SubnetsResource extends NeutronResource {
    private static final Set<String> IPV6_MODES = Set.of("slaac", "dhcpv6-stateful", "dhcpv6-stateless");

    @Inject
    NetworkStore networks;
    @Inject
    SubnetStore subnets;
    @Inject
    NetworkQuotaStore quotas;

    @GET
    public Map<String, Object> list() {
        Set<String> seen = new HashSet<>();
        networks.list().stream().filter(this::seesSubnetsOf).forEach(n -> seen.add(n.id()));
        return listed("subnets", subnets.list().stream().filter(s -> seen.contains(s.networkId()))
                .map(NetworkViews::subnet).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("subnet", NetworkViews.subnet(visible(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<JsonNode> items = NeutronBody.creates(body, "subnet", "subnets");
        List<SubnetStore.Spec> specs = new ArrayList<>();
        for (JsonNode s : items) {
            specs.add(spec(s, caller));
        }
        for (SubnetStore.Spec s : specs) {
            quotas.check(s.projectId(), "subnet", subnets.count(s.projectId()), 1);
        }
        List<Map<String, Object>> made = new ArrayList<>();
        for (SubnetStore.Spec s : specs) {
            made.add(NetworkViews.subnet(subnets.create(s)));
        }
        return created("subnet", "subnets", made, body.has("subnets"));
    }

    private SubnetStore.Spec spec(JsonNode s, Caller caller) {
        String networkId = NeutronBody.string(s, "network_id", 64).orElseThrow(() ->
                NeutronBody.invalid("network_id is required", "network_id"));
        Network network = networks.find(networkId).filter(n -> owns(n.projectId()))
                .orElseThrow(() -> NetworkException.notFound("Network", networkId));
        int version = NeutronBody.integer(s, "ip_version").orElse(4);
        if (version != 4 && version != 6) {
            throw NeutronBody.invalid("'" + version + "' is not in [4, 6]", "ip_version");
        }
        Prefix prefix;
        Optional<String> pool = NeutronBody.string(s, "subnetpool_id", 64);
        Optional<String> cidrText = NeutronBody.string(s, "cidr", 64);
        if (cidrText.isPresent()) {
            Cidr cidr = Cidr.parse(cidrText.get()).filter(c -> cidrText.get().contains("/"))
                    .orElseThrow(() -> NeutronBody.invalid("'" + cidrText.get() + "' is not a valid IP subnet",
                            "cidr"));
            if (!cidr.network().equals(IpAddress.parse(cidrText.get().split("/")[0]).orElseThrow())) {
                throw NeutronBody.invalid("'" + cidrText.get() + "' isn't a recommended CIDR, use '" + cidr
                        + "' instead", "cidr");
            }
            prefix = new Prefix.Given(cidr);
        } else if (pool.isPresent()) {
            prefix = new Prefix.FromPool(pool.get(), NeutronBody.integer(s, "prefixlen"));
        } else {
            throw NetworkException.badRequest("a cidr must be provided if a subnetpool_id is not");
        }
        Gateway gateway = !s.has("gateway_ip") ? new Gateway.Default() : s.get("gateway_ip").isNull()
                ? new Gateway.None() : new Gateway.At(address(s, "gateway_ip"));
        Optional<String> raMode = mode(s, "ipv6_ra_mode", version);
        Optional<String> addressMode = mode(s, "ipv6_address_mode", version);
        return new SubnetStore.Spec(network.id(), NeutronBody.project(s, caller), NeutronBody.string(s, "name", 255)
                .orElse(""), NeutronBody.string(s, "description", 255).orElse(""), version, prefix, gateway,
                NeutronBody.bool(s, "enable_dhcp").orElse(true), nameservers(s).orElse(List.of()),
                routes(s).orElse(List.of()), pools(s), raMode, addressMode);
    }

    private static Optional<String> mode(JsonNode s, String name, int version) {
        Optional<String> mode = NeutronBody.string(s, name, 32);
        mode.ifPresent(m -> {
            if (!IPV6_MODES.contains(m)) {
                throw NeutronBody.invalid("'" + m + "' is not in " + IPV6_MODES, name);
            }
            if (version != 6) {
                throw NetworkException.invalid(name + " is set to '" + m + "' with ip_version set to 4. IPv6"
                        + " attributes cannot be set on an IPv4 subnet.");
            }
        });
        return mode;
    }

    private static IpAddress address(JsonNode o, String name) {
        String text = NeutronBody.string(o, name, 64).orElse("");
        return IpAddress.parse(text).orElseThrow(() -> NeutronBody.invalid("'" + text
                + "' is not a valid IP address", name));
    }

    private static Optional<List<String>> nameservers(JsonNode s) {
        return NeutronBody.strings(s, "dns_nameservers").map(list -> {
            if (new HashSet<>(list).size() != list.size()) {
                throw NeutronBody.invalid("Duplicate nameserver in " + list, "dns_nameservers");
            }
            list.forEach(ns -> IpAddress.parse(ns).orElseThrow(() -> NeutronBody.invalid("'" + ns
                    + "' is not a valid nameserver", "dns_nameservers")));
            return list;
        });
    }

    private static Optional<List<HostRoute>> routes(JsonNode s) {
        return NeutronBody.objects(s, "host_routes").map(list -> list.stream().map(r -> {
            String destination = NeutronBody.string(r, "destination", 64).orElse("");
            Cidr.parse(destination).orElseThrow(() -> NeutronBody.invalid("'" + destination
                    + "' is not a valid IP subnet", "host_routes"));
            return new HostRoute(destination, address(r, "nexthop").toString());
        }).toList());
    }

    private static Optional<List<AddressRange>> pools(JsonNode s) {
        return NeutronBody.objects(s, "allocation_pools").map(list -> list.stream()
                .map(p -> new AddressRange(address(p, "start"), address(p, "end"))).toList());
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Subnet s = owned(id);
        JsonNode c = NeutronBody.one(body, "subnet");
        Optional<IpAddress> gateway = !c.has("gateway_ip") ? s.gateway() : c.get("gateway_ip").isNull()
                ? Optional.empty() : Optional.of(address(c, "gateway_ip"));
        Subnet changed = new Subnet(s.id(), s.networkId(), s.projectId(), NeutronBody.string(c, "name", 255)
                .orElse(s.name()), NeutronBody.string(c, "description", 255).orElse(s.description()), s.cidr(),
                gateway, NeutronBody.bool(c, "enable_dhcp").orElse(s.enableDhcp()),
                nameservers(c).orElse(s.dnsNameservers()), routes(c).orElse(s.hostRoutes()),
                pools(c).orElse(s.allocationPools()), s.ipv6RaMode(), s.ipv6AddressMode(), s.subnetPoolId(),
                s.revision());
        return Map.of("subnet", NetworkViews.subnet(subnets.update(changed)));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        subnets.delete(owned(id).id());
        return Response.noContent().build();
    }

    private Subnet visible(String id) {
        return subnets.find(id).filter(s -> networks.find(s.networkId()).filter(this::seesSubnetsOf).isPresent())
                .orElseThrow(() -> NetworkException.notFound("Subnet", id));
    }

    private Subnet owned(String id) {
        return subnets.find(id).filter(s -> owns(s.projectId()))
                .orElseThrow(() -> NetworkException.notFound("Subnet", id));
    }
}
