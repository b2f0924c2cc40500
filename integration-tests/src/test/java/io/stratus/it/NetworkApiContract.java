package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.proto.v1.HostNetworkState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Network API through the packaged scheduler on one database (H2 or PostgreSQL, per
 * subclass), with the real broker: Neutron's answers and error shape, projects kept apart, and a
 * port bound to a host reaching that host's state on {@code stratus.network}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NetworkApiContract {
    private LocalCloud cloud;
    private Api admin;
    private Api member;

    abstract String databaseUrl(Path dir) throws Exception;

    abstract String name();

    @BeforeAll
    void start() throws Exception {
        Path dir = Files.createTempDirectory("stratus-net-it-");
        cloud = LocalCloud.start(dir, name(), Map.of("stratus.scheduler.db.url", databaseUrl(dir)));
        admin = cloud.admin;
        String project = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "tenant")))
                .path("project").path("id").asText();
        String user = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", "carol", "password",
                "carol-pw", "default_project_id", project))).path("user").path("id").asText();
        admin.ok("PUT", "/identity/v3/projects/" + project + "/users/" + user + "/roles/member", null);
        member = Api.login(cloud.url, "carol", "carol-pw", "tenant");
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void theNetworkApiAnswersAsNeutronAndABoundPortReachesItsHost() throws Exception {
        Api anonymous = Api.anonymous(cloud.url);
        assertThat(anonymous.call("GET", "/network/", null).body().path("versions").findValuesAsText("id"))
                .containsExactly("v2.0");
        assertThat(member.ok("GET", "/identity/v3/auth/catalog", null).path("catalog").findValuesAsText("type"))
                .contains("network");
        assertThat(member.ok("GET", "/network/v2.0/extensions", null).path("extensions").findValuesAsText("alias"))
                .contains("security-group", "provider", "binding", "subnet_allocation", "quotas");

        JsonNode net = member.ok("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "it-net")))
                .path("network");
        String netId = net.path("id").asText();
        assertThat(net.has("provider:segmentation_id")).as("admin-only attribute").isFalse();
        assertThat(admin.ok("GET", "/network/v2.0/networks/" + netId, null).path("network")
                .path("provider:network_type").asText()).isEqualTo("vxlan");
        JsonNode subnet = member.ok("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", netId,
                "cidr", "10.42.0.0/24", "ip_version", 4))).path("subnet");
        assertThat(subnet.path("gateway_ip").asText()).isEqualTo("10.42.0.1");
        Api.Reply overlap = member.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id",
                netId, "cidr", "10.42.0.128/25", "ip_version", 4)));
        assertThat(overlap.status()).isEqualTo(400);
        assertThat(overlap.body().path("NeutronError").path("message").asText())
                .contains("overlaps with another subnet");

        Map<String, Object> at = Map.of("port", Map.of("network_id", netId, "fixed_ips",
                List.of(Map.of("ip_address", "10.42.0.10"))));
        JsonNode port = member.ok("POST", "/network/v2.0/ports", at).path("port");
        String portId = port.path("id").asText();
        assertThat(port.path("mac_address").asText()).startsWith("fa:16:3e:");
        assertThat(port.path("security_groups")).hasSize(1);
        Api.Reply taken = member.call("POST", "/network/v2.0/ports", at);
        assertThat(taken.status()).isEqualTo(409);
        assertThat(taken.body().path("NeutronError").path("type").asText()).isEqualTo("IpAddressAlreadyAllocated");
        assertThat(member.ok("GET", "/network/v2.0/ports?fixed_ips=ip_address%3D10.42.0.10", null).path("ports")
                .findValuesAsText("id")).containsExactly(portId);
        Api.Reply binding = member.call("PUT", "/network/v2.0/ports/" + portId, Map.of("port",
                Map.of("binding:host_id", "h1")));
        assertThat(binding.status()).as("binding is for admins").isEqualTo(403);

        String adminNet = admin.ok("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "private")))
                .path("network").path("id").asText();
        Api.Reply hidden = member.call("GET", "/network/v2.0/networks/" + adminNet, null);
        assertThat(hidden.status()).isEqualTo(404);
        assertThat(hidden.body().path("NeutronError").path("type").asText()).isEqualTo("NetworkNotFound");
        assertThat(member.ok("GET", "/network/v2.0/networks", null).path("networks").findValuesAsText("id"))
                .containsExactly(netId);
        Api.Reply inUse = member.call("DELETE", "/network/v2.0/networks/" + netId, null);
        assertThat(inUse.status()).isEqualTo(409);
        assertThat(inUse.body().path("NeutronError").path("type").asText()).isEqualTo("NetworkInUse");

        admin.ok("PUT", "/network/v2.0/ports/" + portId, Map.of("port", Map.of("binding:host_id", "h1")));
        HostNetworkState bound = cloud.awaitNetworkState(Duration.ofSeconds(30), "h1",
                s -> s.getPortsList().stream()
                .anyMatch(p -> p.getPortId().equals(portId)));
        assertThat(bound.getNetworks(0).getDhcpPort().getDeviceId()).isEqualTo("dhcp-h1");
        assertThat(bound.getSecurityGroupsList()).isNotEmpty();

        member.ok("DELETE", "/network/v2.0/ports/" + portId, null);
        assertThat(cloud.awaitNetworkState(Duration.ofSeconds(30), "h1",
                s -> s.getNetworksCount() == 0).getGeneration())
                .isGreaterThan(bound.getGeneration());
        member.ok("DELETE", "/network/v2.0/networks/" + netId, null);
        assertThat(member.call("GET", "/network/v2.0/subnets/" + subnet.path("id").asText(), null).status())
                .isEqualTo(404);
        admin.ok("DELETE", "/network/v2.0/networks/" + adminNet, null);
    }
}
