package io.stratus.scheduler.api.network;

import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /network/v2.0/}: the resources served, and {@code /v2.0/extensions}: the Neutron
 * extensions Stratus implements, by their aliases (clients such as tempest and the openstack CLI
 * decide what to send by them). {@link Root} is the version document at {@code /network/}.
 */
@Path("/network/v2.0")
@Produces(MediaType.APPLICATION_JSON)
public class NetworkApiVersions {
    /** Alias, name and description of each extension served. */
    static final List<List<String>> EXTENSIONS = List.of(
            List.of("security-group", "security-group", "The security groups extension."),
            List.of("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
            List.of("external-net", "Neutron external network", "Adds external network attribute to network"
                    + " resource."),
            List.of("router", "Neutron L3 Router", "Router abstraction for network. Allows attaching and"
                    + " detaching interfaces and setting a gateway."),
            List.of("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router"
                    + " abstraction for specifying whether SNAT should occur on the external gateway"),
            List.of("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
            List.of("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
            List.of("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
            List.of("port-security", "Port Security", "Provides port security"),
            List.of("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
            List.of("quotas", "Quota management support", "Expose functions for quotas management per project"),
            List.of("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
            List.of("standard-attr-description", "standard-attr-description", "Extension to add descriptions to"
                    + " standard attributes"),
            List.of("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all"
                    + " Neutron resources that have Neutron standard attributes."),
            List.of("standard-attr-revisions", "Resource revision numbers", "This extension will display the"
                    + " revision number of neutron resources."),
            List.of("project-id", "project_id field enabled", "Extension that indicates that project_id field is"
                    + " enabled."),
            List.of("sorting", "Sorting support", "Enabling the sorting feature of the API."),
            List.of("pagination", "Pagination support", "Enabling the pagination feature of the API."));
    private static final List<String> RESOURCES = List.of("network", "subnet", "port", "subnetpool",
            "security_group", "security_group_rule", "quota", "extension", "router", "floatingip");

    @Inject
    SchedulerConfig config;

    @GET
    public Map<String, Object> resources() {
        String base = config.publicUrl() + "/network/v2.0/";
        return Map.of("resources", RESOURCES.stream().map(r -> Map.of("name", r, "collection",
                r.equals("quota") ? "quotas" : r + "s", "links", List.of(Map.of("rel", "self", "href",
                        base + (r.equals("quota") ? "quotas" : (r + "s").replace('_', '-')))))).toList());
    }

    @GET
    @Path("/extensions")
    public Map<String, Object> extensions() {
        return Map.of("extensions", EXTENSIONS.stream().map(NetworkApiVersions::extension).toList());
    }

    @GET
    @Path("/extensions/{alias}")
    public Map<String, Object> extension(@PathParam("alias") String alias) {
        return Map.of("extension", EXTENSIONS.stream().filter(e -> e.get(0).equals(alias)).findFirst()
                .map(NetworkApiVersions::extension).orElseThrow(() -> new NetworkException(
                        NetworkException.Kind.NOT_FOUND, "HTTPNotFound", "Extension with alias " + alias
                        + " does not exist")));
    }

    private static Map<String, Object> extension(List<String> e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alias", e.get(0));
        m.put("name", e.get(1));
        m.put("description", e.get(2));
        m.put("updated", "2013-01-01T00:00:00-00:00");
        m.put("links", List.of());
        return m;
    }

    /** The version document: v2.0, the only one. */
    @Path("/network")
    @Produces(MediaType.APPLICATION_JSON)
    public static class Root {
        @Inject
        SchedulerConfig config;

        @GET
        public Map<String, Object> versions() {
            return Map.of("versions", List.of(Map.of("id", "v2.0", "status", "CURRENT", "links",
                    List.of(Map.of("rel", "self", "href", config.publicUrl() + "/network/v2.0/")))));
        }
    }
}
