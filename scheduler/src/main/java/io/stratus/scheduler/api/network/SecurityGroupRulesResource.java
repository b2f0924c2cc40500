package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.IpProtocols;
import io.stratus.scheduler.network.NetworkException;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.Revision;
import io.stratus.scheduler.network.SecurityGroup;
import io.stratus.scheduler.network.SecurityGroupRule;
import io.stratus.scheduler.network.SecurityGroupRule.Direction;
import io.stratus.scheduler.network.SecurityGroupStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * {@code /network/v2.0/security-group-rules}, checked as Neutron checks a rule: a known protocol,
 * ports only with a protocol and in order, ICMP type and code 0-255 (a code needs a type), one
 * remote (a prefix of the rule's ethertype, or an existing group).
 */
@Path("/network/v2.0/security-group-rules")
@Produces(MediaType.APPLICATION_JSON)
public class SecurityGroupRulesResource extends NeutronResource {
    @Inject
    SecurityGroupStore groups;
    @Inject
    NetworkQuotaStore quotas;
    @Inject
    Clock clock;

    @GET
    public Map<String, Object> list() {
        return listed("security_group_rules", groups.rules().stream().filter(r -> owns(r.projectId()))
                .map(NetworkViews::rule).toList());
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        return shown("security_group_rule", NetworkViews.rule(owned(id)));
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = caller();
        List<Map<String, Object>> made = new ArrayList<>();
        for (JsonNode r : NeutronBody.creates(body, "security_group_rule", "security_group_rules")) {
            SecurityGroupRule rule = rule(r, caller);
            quotas.check(rule.projectId(), "security_group_rule", groups.countRules(rule.projectId()), 1);
            made.add(NetworkViews.rule(groups.addRule(rule)));
        }
        return created("security_group_rule", "security_group_rules", made, body.has("security_group_rules"));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        groups.deleteRule(owned(id).id());
        return Response.noContent().build();
    }

    private SecurityGroupRule owned(String id) {
        return groups.rule(id).filter(r -> owns(r.projectId()))
                .orElseThrow(() -> NetworkException.notFound("SecurityGroupRule", id));
    }

    private SecurityGroupRule rule(JsonNode r, Caller caller) {
        String groupId = NeutronBody.string(r, "security_group_id", 64).orElseThrow(() ->
                NeutronBody.invalid("security_group_id is required", "security_group_id"));
        SecurityGroup group = groups.find(groupId).filter(g -> owns(g.projectId()))
                .orElseThrow(() -> NetworkException.notFound("SecurityGroup", groupId));
        String direction = NeutronBody.string(r, "direction", 16).orElse("");
        if (!direction.equals("ingress") && !direction.equals("egress")) {
            throw NeutronBody.invalid("'" + direction + "' is not in ['ingress', 'egress']", "direction");
        }
        String ethertype = NeutronBody.string(r, "ethertype", 16).orElse("IPv4");
        if (!ethertype.equals("IPv4") && !ethertype.equals("IPv6")) {
            throw NeutronBody.invalid("'" + ethertype + "' is not in ['IPv4', 'IPv6']", "ethertype");
        }
        Optional<String> protocol = protocol(r);
        Optional<Integer> min = port(r, "port_range_min");
        Optional<Integer> max = port(r, "port_range_max");
        checkPorts(protocol, min, max);
        Optional<String> prefix = NeutronBody.string(r, "remote_ip_prefix", 64);
        Optional<String> remoteGroup = NeutronBody.string(r, "remote_group_id", 64);
        if (prefix.isPresent() && remoteGroup.isPresent()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupRemoteGroupAndRemoteIpPrefix",
                    "Only remote_ip_prefix or remote_group_id may be provided.");
        }
        prefix.ifPresent(p -> {
            Cidr cidr = Cidr.parse(p).orElseThrow(() -> NeutronBody.invalid("'" + p + "' is not a valid IP subnet",
                    "remote_ip_prefix"));
            if (cidr.version() != (ethertype.equals("IPv6") ? 6 : 4)) {
                throw NetworkException.invalid("Conflicting value ethertype " + ethertype + " for CIDR " + p);
            }
        });
        remoteGroup.ifPresent(g -> groups.find(g).orElseThrow(() -> NetworkException.notFound("SecurityGroup", g)));
        return new SecurityGroupRule(UUID.randomUUID().toString(), group.id(), group.projectId(),
                Direction.valueOf(direction.toUpperCase(Locale.ROOT)), ethertype, protocol, min, max, prefix,
                remoteGroup, NeutronBody.string(r, "description", 255).orElse(""), Revision.first(clock.instant()));
    }

    private static Optional<String> protocol(JsonNode r) {
        JsonNode n = r.get("protocol");
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        String p = n.isIntegralNumber() ? String.valueOf(n.asLong()) : n.asText();
        if (IpProtocols.number(p).isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupRuleInvalidProtocol",
                    "Security group rule protocol " + p + " not supported. Only protocol values [tcp, udp, icmp,"
                            + " ipv6-icmp, ...] and integer representations [0 to 255] are supported.");
        }
        return Optional.of(p);
    }

    /** A port value as Neutron converts it: 0 to 65535. */
    private static Optional<Integer> port(JsonNode r, String name) {
        JsonNode n = r.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!(n.isIntegralNumber() || n.asText().matches("-?[0-9]{1,9}"))
                || n.asLong() < 0 || n.asLong() > 65535 || (n.isTextual() && Long.parseLong(n.asText()) > 65535)) {
            throw NetworkException.invalid("Invalid value for port " + n.asText());
        }
        return Optional.of(n.isTextual() ? Integer.parseInt(n.asText()) : n.asInt());
    }

    private static void checkPorts(Optional<String> protocol, Optional<Integer> min, Optional<Integer> max) {
        if (min.isEmpty() && max.isEmpty()) {
            return;
        }
        int number = protocol.flatMap(IpProtocols::number).orElseThrow(() -> new NetworkException(
                NetworkException.Kind.INVALID, "SecurityGroupProtocolRequiredWithPorts",
                "Must also specify protocol if port range is given."));
        if (IpProtocols.hasPorts(number)) {
            if (min.filter(v -> v == 0).isPresent() || max.filter(v -> v == 0).isPresent()) {
                throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupInvalidPortValue",
                        "Invalid value for port 0.");
            }
            if (min.isEmpty() || max.isEmpty() || min.get() > max.get()) {
                throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupInvalidPortRange",
                        "For TCP/UDP protocols, port_range_min must be <= port_range_max");
            }
        } else if (IpProtocols.isIcmp(number)) {
            icmp(min, "type", "port_range_min");
            icmp(max, "code", "port_range_max");
            if (min.isEmpty()) {
                throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupMissingIcmpType",
                        "ICMP code (port-range-max) " + max.get() + " is provided but ICMP type (port-range-min) is"
                                + " missing.");
            }
        }
    }

    private static void icmp(Optional<Integer> value, String field, String attribute) {
        value.filter(v -> v > 255).ifPresent(v -> {
            throw new NetworkException(NetworkException.Kind.INVALID, "SecurityGroupInvalidIcmpValue",
                    "Invalid value for ICMP " + field + " (" + attribute + "): " + v + ". It must be 0 to 255.");
        });
    }
}
