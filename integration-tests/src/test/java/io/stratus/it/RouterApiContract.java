package io.stratus.it;

import io.stratus.kafka.client.Topics;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Timestamp;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.RouterConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Neutron's L3 API (routers, external networks, floating IPs) through the packaged scheduler on
 * one database (H2 or PostgreSQL, per subclass), with the real broker: Neutron's answers and
 * faults, and a router reaching the state of the L3 host that reports the role.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RouterApiContract {
    private static final String NET = "/network/v2.0";
    private LocalCloud cloud;
    private Api admin;
    private Api member;
    private Api other;
    private String publicNet;
    private String publicSubnet;

    abstract String databaseUrl(Path dir) throws Exception;

    abstract String name();

    @BeforeAll
    void start() throws Exception {
        Path dir = Files.createTempDirectory("stratus-l3-it-");
        cloud = LocalCloud.start(dir, name(), Map.of("stratus.scheduler.db.url", databaseUrl(dir)));
        admin = cloud.admin;
        member = user("tenant", "carol");
        other = user("elsewhere", "dave");
        publicNet = admin.ok("POST", NET + "/networks", Map.of("network", Map.of("name", "public",
                "router:external", true))).path("network").path("id").asText();
        publicSubnet = admin.ok("POST", NET + "/subnets", Map.of("subnet", Map.of("network_id", publicNet,
                "cidr", "203.0.113.0/24", "ip_version", 4, "enable_dhcp", false))).path("subnet").path("id").asText();
    }

    private Api user(String projectName, String name) {
        String project = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", projectName)))
                .path("project").path("id").asText();
        String user = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", name, "password",
                name + "-pw", "default_project_id", project))).path("user").path("id").asText();
        admin.ok("PUT", "/identity/v3/projects/" + project + "/users/" + user + "/roles/member", null);
        return Api.login(cloud.url, name, name + "-pw", projectName);
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    private String network(Api as, String name) {
        return as.ok("POST", NET + "/networks", Map.of("network", Map.of("name", name))).path("network").path("id")
                .asText();
    }

    private String subnet(Api as, String network, String cidr) {
        return as.ok("POST", NET + "/subnets", Map.of("subnet", Map.of("network_id", network, "cidr", cidr,
                "ip_version", 4))).path("subnet").path("id").asText();
    }

    private static void fault(Api.Reply r, int status, String type) {
        assertThat(r.status()).as(r.body().toString()).isEqualTo(status);
        assertThat(r.body().path("NeutronError").path("type").asText()).isEqualTo(type);
    }

    @Test
    void routersAnswerAsNeutron() {
        assertThat(member.ok("GET", NET + "/extensions", null).path("extensions").findValuesAsText("alias"))
                .contains("router", "ext-gw-mode", "extraroute", "external-net")
                .doesNotContain("l3_agent_scheduler", "dvr", "l3-ha");
        JsonNode created = member.ok("POST", NET + "/routers", Map.of("router", Map.of("name", "r1",
                "admin_state_up", false, "external_gateway_info", Map.of("network_id", publicNet)))).path("router");
        String router = created.path("id").asText();
        assertThat(created.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(created.path("admin_state_up").asBoolean()).isFalse();
        assertThat(created.has("distributed")).as("no dvr extension").isFalse();
        JsonNode gw = created.path("external_gateway_info");
        assertThat(gw.path("network_id").asText()).isEqualTo(publicNet);
        assertThat(gw.path("enable_snat").asBoolean()).isTrue();
        assertThat(gw.path("external_fixed_ips").get(0).path("subnet_id").asText()).isEqualTo(publicSubnet);
        assertThat(gw.path("external_fixed_ips").get(0).path("ip_address").asText()).startsWith("203.0.113.");
        JsonNode gwPorts = admin.ok("GET", NET + "/ports?device_id=" + router + "&device_owner=network:router_gateway",
                null).path("ports");
        assertThat(gwPorts).singleElement().satisfies(p -> {
            assertThat(p.path("network_id").asText()).isEqualTo(publicNet);
            assertThat(p.path("project_id").asText()).isEmpty();
        });
        assertThat(member.ok("GET", NET + "/routers", null).path("routers").findValuesAsText("id"))
                .containsExactly(router);
        assertThat(other.ok("GET", NET + "/routers", null).path("routers")).isEmpty();
        fault(other.call("GET", NET + "/routers/" + router, null), 404, "RouterNotFound");
        assertThat(member.ok("PUT", NET + "/routers/" + router, Map.of("router", Map.of("name", "r1b",
                "admin_state_up", true))).path("router").path("admin_state_up").asBoolean()).isTrue();
        fault(member.call("PUT", NET + "/routers/" + router, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", publicNet, "enable_snat", false)))), 403, "PolicyNotAuthorized");
        assertThat(admin.ok("PUT", NET + "/routers/" + router, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", publicNet, "enable_snat", false)))).path("router").path("external_gateway_info")
                .path("enable_snat").asBoolean()).isFalse();

        fault(admin.call("PUT", NET + "/networks/" + publicNet, Map.of("network", Map.of("router:external", false))),
                409, "ExternalNetworkInUse");

        // Gateway faults: an unknown network, one that is not external.
        String net1 = network(member, "n1");
        String sub1 = subnet(member, net1, "10.20.1.0/24");
        fault(member.call("PUT", NET + "/routers/" + router, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", router)))), 404, "NetworkNotFound");
        fault(member.call("PUT", NET + "/routers/" + router, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", net1)))), 400, "BadRequest");

        // Interfaces: by subnet (the gateway address), by port; overlaps and doubles refused.
        JsonNode leg = member.ok("PUT", NET + "/routers/" + router + "/add_router_interface",
                Map.of("subnet_id", sub1));
        assertThat(leg.path("id").asText()).isEqualTo(router);
        assertThat(leg.path("subnet_id").asText()).isEqualTo(sub1);
        assertThat(leg.path("subnet_ids")).singleElement().satisfies(i -> assertThat(i.asText()).isEqualTo(sub1));
        assertThat(leg.path("network_id").asText()).isEqualTo(net1);
        JsonNode legPort = member.ok("GET", NET + "/ports/" + leg.path("port_id").asText(), null).path("port");
        assertThat(legPort.path("device_owner").asText()).isEqualTo("network:router_interface");
        assertThat(legPort.path("device_id").asText()).isEqualTo(router);
        assertThat(legPort.path("fixed_ips").get(0).path("ip_address").asText()).isEqualTo("10.20.1.1");
        fault(member.call("PUT", NET + "/routers/" + router + "/add_router_interface", Map.of("subnet_id", sub1)),
                400, "BadRequest");
        String net2 = network(member, "n2");
        String overlapping = subnet(member, net2, "10.20.1.0/25");
        fault(member.call("PUT", NET + "/routers/" + router + "/add_router_interface",
                Map.of("subnet_id", overlapping)), 400, "BadRequest");
        String net3 = network(member, "n3");
        String sub3 = subnet(member, net3, "10.20.3.0/24");
        String port3 = member.ok("POST", NET + "/ports", Map.of("port", Map.of("network_id", net3))).path("port")
                .path("id").asText();
        JsonNode byPort = member.ok("PUT", NET + "/routers/" + router + "/add_router_interface",
                Map.of("port_id", port3));
        assertThat(byPort.path("port_id").asText()).isEqualTo(port3);
        assertThat(byPort.path("subnet_id").asText()).isEqualTo(sub3);
        assertThat(member.ok("GET", NET + "/ports?device_id=" + router, null).path("ports").findValuesAsText("id"))
                .containsExactlyInAnyOrder(leg.path("port_id").asText(), port3);
        String busy = member.ok("POST", NET + "/ports", Map.of("port", Map.of("network_id", net2, "device_id",
                "someone"))).path("port").path("id").asText();
        fault(member.call("PUT", NET + "/routers/" + router + "/add_router_interface", Map.of("port_id", busy)),
                409, "PortInUse");
        String noGatewayNet = network(member, "n4");
        String noGateway = member.ok("POST", NET + "/subnets", "{\"subnet\": {\"network_id\": \"" + noGatewayNet
                + "\", \"cidr\": \"10.20.4.0/24\", \"ip_version\": 4, \"gateway_ip\": null}}").path("subnet")
                .path("id").asText();
        fault(member.call("PUT", NET + "/routers/" + router + "/add_router_interface", Map.of("subnet_id", noGateway)),
                400, "BadRequest");

        // What holds a router or its networks.
        fault(member.call("DELETE", NET + "/routers/" + router, null), 409, "RouterInUse");
        fault(member.call("DELETE", NET + "/networks/" + net1, null), 409, "NetworkInUse");
        fault(member.call("DELETE", NET + "/subnets/" + sub1, null), 409, "SubnetInUse");
        fault(member.call("DELETE", NET + "/ports/" + port3, null), 409, "L3PortInUse");

        // Extra routes: through an attached subnet only; an interface a route needs stays.
        fault(member.call("PUT", NET + "/routers/" + router, Map.of("router", Map.of("routes", List.of(Map.of(
                "destination", "192.168.9.0/24", "nexthop", "10.99.0.5"))))), 400, "InvalidRoutes");
        JsonNode routed = member.ok("PUT", NET + "/routers/" + router, Map.of("router", Map.of("routes", List.of(
                Map.of("destination", "192.168.9.0/24", "nexthop", "10.20.3.7"))))).path("router");
        assertThat(routed.path("routes").findValuesAsText("nexthop")).containsExactly("10.20.3.7");
        fault(member.call("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("port_id", port3)),
                409, "RouterInterfaceInUse");
        assertThat(member.ok("PUT", NET + "/routers/" + router, "{\"router\": {\"routes\": null}}").path("router")
                .path("routes")).isEmpty();

        JsonNode removed = member.ok("PUT", NET + "/routers/" + router + "/remove_router_interface",
                Map.of("port_id", port3));
        assertThat(removed.path("subnet_id").asText()).isEqualTo(sub3);
        assertThat(member.call("GET", NET + "/ports/" + port3, null).status()).as("Neutron deletes it").isEqualTo(404);
        member.ok("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub1));
        fault(member.call("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub1)),
                404, "RouterInterfaceNotFoundForSubnet");

        // Unsetting the gateway takes its port.
        JsonNode unset = member.ok("PUT", NET + "/routers/" + router, Map.of("router", Map.of("external_gateway_info",
                Map.of()))).path("router");
        assertThat(unset.path("external_gateway_info").isNull()).isTrue();
        assertThat(admin.ok("GET", NET + "/ports?network_id=" + publicNet + "&device_id=" + router, null)
                .path("ports")).isEmpty();
        member.ok("DELETE", NET + "/routers/" + router, null);
        fault(member.call("DELETE", NET + "/routers/" + router, null), 404, "RouterNotFound");
        fault(member.call("PUT", NET + "/routers/" + router, Map.of("router", Map.of("name", "x"))), 404,
                "RouterNotFound");
        member.ok("DELETE", NET + "/ports/" + busy, null);
        for (String n : List.of(net1, net2, net3, noGatewayNet)) {
            member.ok("DELETE", NET + "/networks/" + n, null);
        }
    }

    @Test
    void externalNetworksLendFloatingIpsToEveryProject() {
        // Seen by all, listed with the router:external filter; its subnets and ports stay the operator's.
        JsonNode externals = other.ok("GET", NET + "/networks?router:external=True", null).path("networks");
        assertThat(externals.findValuesAsText("id")).contains(publicNet);
        assertThat(externals.findValuesAsText("router:external")).containsOnly("true");
        assertThat(other.ok("GET", NET + "/subnets?network_id=" + publicNet, null).path("subnets")).isEmpty();
        fault(other.call("POST", NET + "/ports", Map.of("port", Map.of("network_id", publicNet))), 404,
                "NetworkNotFound");
        fault(member.call("POST", NET + "/networks", Map.of("network", Map.of("name", "x", "router:external",
                true))), 403, "PolicyNotAuthorized");

        String net = network(member, "fip-net");
        String sub = subnet(member, net, "10.30.0.0/24");
        String port = member.ok("POST", NET + "/ports", Map.of("port", Map.of("network_id", net))).path("port")
                .path("id").asText();
        JsonNode fip = member.ok("POST", NET + "/floatingips", Map.of("floatingip", Map.of("floating_network_id",
                publicNet))).path("floatingip");
        String fipId = fip.path("id").asText();
        assertThat(fip.path("floating_ip_address").asText()).startsWith("203.0.113.");
        assertThat(fip.path("status").asText()).isEqualTo("DOWN");
        assertThat(fip.path("port_id").isNull()).isTrue();
        assertThat(fip.has("dns_name")).isFalse();
        assertThat(admin.ok("GET", NET + "/ports?device_id=" + fipId, null).path("ports")).singleElement()
                .satisfies(p -> assertThat(p.path("device_owner").asText()).isEqualTo("network:floatingip"));
        fault(member.call("POST", NET + "/floatingips", Map.of("floatingip", Map.of("floating_network_id", net))),
                400, "BadRequest");
        fault(member.call("POST", NET + "/floatingips", Map.of("floatingip", Map.of("floating_network_id", publicNet,
                "floating_ip_address", "203.0.113.200"))), 403, "PolicyNotAuthorized");

        // No router joins the port's subnet to the external network yet.
        fault(member.call("PUT", NET + "/floatingips/" + fipId, Map.of("floatingip", Map.of("port_id", port))), 404,
                "ExternalGatewayForFloatingIPNotFound");
        String router = member.ok("POST", NET + "/routers", Map.of("router", Map.of("name", "fip-r",
                "external_gateway_info", Map.of("network_id", publicNet)))).path("router").path("id").asText();
        member.ok("PUT", NET + "/routers/" + router + "/add_router_interface", Map.of("subnet_id", sub));
        JsonNode associated = member.ok("PUT", NET + "/floatingips/" + fipId, Map.of("floatingip",
                Map.of("port_id", port))).path("floatingip");
        String fixed = member.ok("GET", NET + "/ports/" + port, null).path("port").path("fixed_ips").get(0)
                .path("ip_address").asText();
        assertThat(associated.path("router_id").asText()).isEqualTo(router);
        assertThat(associated.path("fixed_ip_address").asText()).isEqualTo(fixed);
        assertThat(associated.path("status").asText()).isEqualTo("ACTIVE");
        JsonNode second = admin.ok("POST", NET + "/floatingips", Map.of("floatingip", Map.of("floating_network_id",
                publicNet, "floating_ip_address", "203.0.113.200", "project_id", associated.path("project_id")
                        .asText()))).path("floatingip");
        assertThat(second.path("floating_ip_address").asText()).isEqualTo("203.0.113.200");
        fault(member.call("PUT", NET + "/floatingips/" + second.path("id").asText(), Map.of("floatingip",
                Map.of("port_id", port))), 409, "FloatingIPPortAlreadyAssociated");
        assertThat(member.ok("GET", NET + "/floatingips?port_id=" + port, null).path("floatingips")
                .findValuesAsText("id")).containsExactly(fipId);
        assertThat(member.ok("GET", NET + "/floatingips?router_id=" + router + "&fields=id", null)
                .path("floatingips").findValuesAsText("id")).containsExactly(fipId);
        assertThat(member.ok("GET", NET + "/floatingips?floating_ip_address=203.0.113.200", null)
                .path("floatingips").findValuesAsText("id")).containsExactly(second.path("id").asText());
        assertThat(other.ok("GET", NET + "/floatingips", null).path("floatingips")).isEmpty();
        fault(member.call("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub)),
                409, "RouterInterfaceInUseByFloatingIP");

        // Disassociated by PUT, then again by the port's deletion.
        JsonNode freed = member.ok("PUT", NET + "/floatingips/" + fipId, "{\"floatingip\": {\"port_id\": null}}")
                .path("floatingip");
        assertThat(freed.path("port_id").isNull()).isTrue();
        assertThat(freed.path("router_id").isNull()).isTrue();
        member.ok("PUT", NET + "/floatingips/" + fipId, Map.of("floatingip", Map.of("port_id", port)));
        member.ok("DELETE", NET + "/ports/" + port, null);
        assertThat(member.ok("GET", NET + "/floatingips/" + fipId, null).path("floatingip").path("port_id").isNull())
                .isTrue();

        // Quotas: router 10 and floatingip 50 by default, counted.
        JsonNode quota = member.ok("GET", NET + "/quotas/" + associated.path("project_id").asText(), null)
                .path("quota");
        assertThat(quota.path("router").asInt()).isEqualTo(10);
        assertThat(quota.path("floatingip").asInt()).isEqualTo(50);
        admin.ok("PUT", NET + "/quotas/" + associated.path("project_id").asText(), Map.of("quota",
                Map.of("floatingip", 2, "router", 1)));
        fault(member.call("POST", NET + "/floatingips", Map.of("floatingip", Map.of("floating_network_id",
                publicNet))), 409, "OverQuota");
        fault(member.call("POST", NET + "/routers", Map.of("router", Map.of("name", "one-too-many"))), 409,
                "OverQuota");
        admin.ok("DELETE", NET + "/quotas/" + associated.path("project_id").asText(), null);

        member.ok("DELETE", NET + "/floatingips/" + fipId, null);
        member.ok("DELETE", NET + "/floatingips/" + second.path("id").asText(), null);
        fault(member.call("GET", NET + "/floatingips/" + fipId, null), 404, "FloatingIPNotFound");
        assertThat(admin.ok("GET", NET + "/ports?device_id=" + fipId, null).path("ports")).isEmpty();
        member.ok("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub));
        member.ok("DELETE", NET + "/routers/" + router, null);
        member.ok("DELETE", NET + "/networks/" + net, null);
    }

    @Test
    void aRouterIsBuiltOnTheHostThatReportsTheL3Role() throws Exception {
        String net = network(member, "l3-net");
        String sub = subnet(member, net, "10.40.0.0/24");
        String router = member.ok("POST", NET + "/routers", Map.of("router", Map.of("name", "placed",
                "external_gateway_info", Map.of("network_id", publicNet)))).path("router").path("id").asText();
        String legPort = member.ok("PUT", NET + "/routers/" + router + "/add_router_interface",
                Map.of("subnet_id", sub)).path("port_id").asText();
        report("l3-host", true);
        HostNetworkState state = cloud.awaitNetworkState(Duration.ofSeconds(60), "l3-host",
                s -> s.getRoutersList().stream()
                .anyMatch(r -> r.getRouterId().equals(router) && r.getInterfacesCount() == 1));
        RouterConfig config = state.getRoutersList().stream().filter(r -> r.getRouterId().equals(router)).findFirst()
                .orElseThrow();
        assertThat(config.getGatewayPort().getNetworkId()).isEqualTo(publicNet);
        assertThat(config.getEnableSnat()).isTrue();
        assertThat(config.getInterfaces(0).getPortId()).isEqualTo(legPort);
        assertThat(config.getInterfaces(0).getFixedIps(0).getIpAddress()).isEqualTo("10.40.0.1");
        assertThat(state.getPortsList()).extracting(p -> p.getPortId()).doesNotContain(legPort);
        assertThat(state.getNetworksList()).extracting(n -> n.getNetworkId()).contains(net, publicNet);
        assertThat(admin.ok("GET", NET + "/ports/" + legPort, null).path("port").path("binding:host_id").asText())
                .isEqualTo("l3-host");

        member.ok("PUT", NET + "/routers/" + router, Map.of("router", Map.of("admin_state_up", false)));
        HostNetworkState down = cloud.awaitNetworkState(Duration.ofSeconds(60), "l3-host",
                s -> s.getRoutersList().stream()
                .anyMatch(r -> r.getRouterId().equals(router) && !r.getAdminStateUp()));
        assertThat(down.getGeneration()).isGreaterThan(state.getGeneration());

        member.ok("PUT", NET + "/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub));
        member.ok("DELETE", NET + "/routers/" + router, null);
        cloud.awaitNetworkState(Duration.ofSeconds(60), "l3-host",
                s -> s.getRoutersList().stream().noneMatch(r -> r.getRouterId().equals(router)));
        member.ok("DELETE", NET + "/networks/" + net, null);
    }

    private void report(String host, boolean l3) throws Exception {
        // As the host's agent would: its certificate, and only its agent's rights.
        Properties p = cloud.agentBus(host).properties("it-simulated-host");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(Topics.hostReports(host), host, HostReport.newBuilder().setHost(host)
                    .setEnabled(false).setDisabledReason("an L3 host of this test, not a compute host")
                    .setReportedAt(Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond()))
                    .setCapacity(Resources.newBuilder().setVcpus(1).setMemoryMib(512).setDiskGib(1))
                    .setTunnelAddress("192.0.2.40").setL3Agent(l3).build().toByteArray())).get();
        }
    }
}
