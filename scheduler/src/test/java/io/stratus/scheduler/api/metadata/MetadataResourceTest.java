package io.stratus.scheduler.api.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.database.Database;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.metadata.MetadataService;
import io.stratus.scheduler.metadata.MetadataSource;
import io.stratus.scheduler.metadata.ProxySignature;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.Network;
import io.stratus.scheduler.network.NetworkRequest;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.PortStore;
import io.stratus.scheduler.network.SecurityGroupStore;
import io.stratus.scheduler.network.SubnetStore;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The metadata API on the embedded database, as the agents' proxies call it: Nova's handler's
 * answers to a good signature, a bad or missing one, another project's instance, a service
 * without a secret, the guest's password, and the config drive's files.
 */
class MetadataResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET = "test-shared-secret";

    private Database db;
    private ServerStore servers;
    private ServerMetadataStore metadata;
    private FlavorStore flavors;
    private NetworkService network;
    private SecurityGroupStore groups;
    private Network net;

    @BeforeEach
    void start() {
        Clock clock = Clock.systemUTC();
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        servers = new ServerStore(db.dataSource(), clock);
        metadata = new ServerMetadataStore(db.dataSource());
        flavors = new FlavorStore(db.dataSource(), clock);
        groups = new SecurityGroupStore(db.dataSource(), clock, hosts -> { });
        NetworkStore networks = new NetworkStore(db.dataSource(), clock, hosts -> { });
        SubnetStore subnets = new SubnetStore(db.dataSource(), clock, hosts -> { });
        network = new NetworkService(networks, subnets, new PortStore(db.dataSource(), clock, groups, hosts -> { }));
        net = networks.create(new NetworkStore.Spec("p1", "private", "", true, false, false, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), true));
        subnets.create(new SubnetStore.Spec(net.id(), "p1", "sub", "", 4, new SubnetStore.Prefix.Given(
                Cidr.parse("10.9.0.0/24").orElseThrow()), new SubnetStore.Gateway.Default(), false,
                List.of("192.0.2.53"), List.of(), Optional.empty(), Optional.empty(), Optional.empty()));
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private String server(String project, Optional<String> userData) {
        String id = UUID.randomUUID().toString();
        Instant now = Instant.now();
        servers.insert(new Server(id, "Web 1", project, "u1", "m1", Optional.empty(), 1, 64, 1, "img", "",
                Optional.empty(), InstanceState.ACTIVE, TaskState.NONE, Optional.of("h1"), "req-0", now, List.of(), 1,
                0, Optional.empty(), Optional.of(now), now, now, Optional.empty(), PowerState.POWER_RUNNING,
                Optional.empty(), Optional.empty(), "", "", new Server.Launch(userData, true, "web-1", "r-0000test", 0,
                "", "")));
        return id;
    }

    private MetadataResource api(Optional<String> secret, Map<String, List<String>> headers) {
        MetadataResource api = new MetadataResource();
        api.service = new MetadataService(new MetadataSource(servers, metadata, flavors, network, groups),
                new MetadataService.Settings(secret, Optional.of("novalocal")));
        api.headers = (HttpHeaders) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HttpHeaders.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getRequestHeader":
                            return headers.get((String) args[0]);
                        case "getHeaderString": {
                            List<String> v = headers.get((String) args[0]);
                            return v == null ? null : String.join(",", v);
                        }
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
        return api;
    }

    /** The headers a proxy on the instance's host sends for it, signed with {@code secret}. */
    private static Map<String, List<String>> proxied(String instanceId, String tenantId, String secret) {
        Map<String, List<String>> h = new LinkedHashMap<>();
        h.put("X-Instance-ID", List.of(instanceId));
        h.put("X-Tenant-ID", List.of(tenantId));
        h.put("X-Instance-ID-Signature", List.of(new ProxySignature(secret).sign(instanceId)));
        h.put("X-Forwarded-For", List.of("10.9.0.7"));
        return h;
    }

    private MetadataResource signed(String instanceId, String tenantId) {
        return api(Optional.of(SECRET), proxied(instanceId, tenantId, SECRET));
    }

    private static String body(Response r) {
        Object e = r.getEntity();
        return e instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(e);
    }

    @Test
    void aSignedRequestGetsItsInstancesMetadata() throws Exception {
        String id = server("p1", Optional.of(Base64.getEncoder().encodeToString("#!/bin/sh\necho hi\n".getBytes(
                StandardCharsets.UTF_8))));
        metadata.replace(id, Map.of("role", "web"));
        network.allocateForServer("p1", id, List.of(new NetworkRequest.OnNetwork(net.id(), Optional.of("10.9.0.7"))));
        MetadataResource api = signed(id, "p1");

        Response md = api.get("openstack/latest/meta_data.json");
        assertThat(md.getStatus()).isEqualTo(200);
        assertThat(md.getMediaType().toString()).isEqualTo("application/json");
        JsonNode doc = JSON.readTree(body(md));
        assertThat(doc.path("uuid").asText()).isEqualTo(id);
        assertThat(doc.path("hostname").asText()).isEqualTo("web-1.novalocal");
        assertThat(doc.path("meta").path("role").asText()).isEqualTo("web");
        assertThat(doc.path("project_id").asText()).isEqualTo("p1");
        assertThat(body(api.get("openstack/latest/user_data"))).isEqualTo("#!/bin/sh\necho hi\n");
        assertThat(body(api.get("latest/user-data"))).isEqualTo("#!/bin/sh\necho hi\n");
        assertThat(body(api.get("latest/meta-data/local-ipv4"))).isEqualTo("10.9.0.7");
        assertThat(body(api.get("latest/meta-data/security-groups"))).isEqualTo("default");
        JsonNode nd = JSON.readTree(body(api.get("openstack/latest/network_data.json")));
        assertThat(nd.path("networks").path(0).path("type").asText()).as("no DHCP on the subnet").isEqualTo("ipv4");
        assertThat(nd.path("networks").path(0).path("ip_address").asText()).isEqualTo("10.9.0.7");
        assertThat(nd.path("networks").path(0).path("netmask").asText()).isEqualTo("255.255.255.0");
        assertThat(nd.path("links").path(0).path("mtu").asInt()).isEqualTo(net.mtu());
        assertThat(nd.path("services").path(0).path("address").asText()).isEqualTo("192.0.2.53");
        assertThat(body(api.root())).startsWith("1.0\n").endsWith("\nlatest");
        assertThat(api.get("openstack/latest/nothing").getStatus()).isEqualTo(404);
    }

    @Test
    void aBadOrMissingSignatureIsForbiddenOrBad() {
        String id = server("p1", Optional.empty());
        assertThat(api(Optional.of(SECRET), proxied(id, "p1", "not-the-secret")).get("openstack/latest/meta_data.json")
                .getStatus()).isEqualTo(403);
        Map<String, List<String>> forged = proxied(id, "p1", SECRET);
        forged.put("X-Instance-ID", List.of(server("p1", Optional.empty())));
        assertThat(api(Optional.of(SECRET), forged).get("latest/meta-data/").getStatus())
                .as("a signature of another instance").isEqualTo(403);
        for (String header : List.of("X-Instance-ID", "X-Tenant-ID", "X-Instance-ID-Signature")) {
            Map<String, List<String>> h = proxied(id, "p1", SECRET);
            h.remove(header);
            Response r = api(Optional.of(SECRET), h).get("latest/meta-data/");
            assertThat(r.getStatus()).as(header).isEqualTo(400);
            assertThat(body(r)).contains(header + " header is missing");
        }
        Map<String, List<String>> twice = proxied(id, "p1", SECRET);
        twice.put("X-Tenant-ID", List.of("p1", "p2"));
        assertThat(api(Optional.of(SECRET), twice).get("latest/meta-data/").getStatus()).isEqualTo(400);
    }

    @Test
    void anotherProjectsOrAGoneInstanceIsNotFound() {
        String id = server("p1", Optional.empty());
        assertThat(signed(id, "p2").get("openstack/latest/meta_data.json").getStatus()).isEqualTo(404);
        assertThat(signed(id, "p2").configDrive().getStatus()).isEqualTo(404);
        String unknown = UUID.randomUUID().toString();
        assertThat(signed(unknown, "p1").get("openstack/latest/meta_data.json").getStatus()).isEqualTo(404);
        servers.markDeleted(id);
        assertThat(signed(id, "p1").get("openstack/latest/meta_data.json").getStatus()).isEqualTo(404);
    }

    @Test
    void withoutASharedSecretNothingIsAnswered() {
        String id = server("p1", Optional.empty());
        for (Optional<String> none : List.of(Optional.<String>empty(), Optional.of(""))) {
            MetadataResource api = api(none, proxied(id, "p1", SECRET));
            Response r = api.get("openstack/latest/meta_data.json");
            assertThat(r.getStatus()).isEqualTo(503);
            assertThat(body(r)).contains("the metadata service is not configured");
            assertThat(api.root().getStatus()).isEqualTo(503);
            assertThat(api.configDrive().getStatus()).isEqualTo(503);
            assertThat(api.post("openstack/latest/password", "x".getBytes(StandardCharsets.UTF_8)).getStatus())
                    .isEqualTo(503);
        }
    }

    @Test
    void theGuestSetsItsPasswordOnce() {
        String id = server("p1", Optional.empty());
        MetadataResource api = signed(id, "p1");
        assertThat(body(api.get("openstack/latest/password"))).isEmpty();
        assertThat(api.post("openstack/latest/password", new byte[4 * 255 + 1]).getStatus()).as("too long")
                .isEqualTo(400);
        assertThat(api.post("openstack/latest/password", "c2VjcmV0".getBytes(StandardCharsets.UTF_8)).getStatus())
                .isEqualTo(200);
        assertThat(body(api.get("openstack/2013-04-04/password"))).isEqualTo("c2VjcmV0");
        assertThat(servers.guestPassword(id)).contains("c2VjcmV0");
        assertThat(api.post("openstack/latest/password", "other".getBytes(StandardCharsets.UTF_8)).getStatus())
                .isEqualTo(409);
        assertThat(api.post("openstack/2012-08-10/password", "x".getBytes(StandardCharsets.UTF_8)).getStatus())
                .as("no password before Grizzly").isEqualTo(404);
        assertThat(api.post("openstack/latest/meta_data.json", "x".getBytes(StandardCharsets.UTF_8)).getStatus())
                .isEqualTo(400);
        // An operator clears it (os-server-password): the guest may post again.
        servers.clearGuestPassword(id);
        assertThat(api.post("openstack/latest/password", "again".getBytes(StandardCharsets.UTF_8)).getStatus())
                .isEqualTo(200);
    }

    @Test
    void theConfigDriveListsItsFilesWithTheirContent() throws Exception {
        String id = server("p1", Optional.of(Base64.getEncoder().encodeToString("data".getBytes(
                StandardCharsets.UTF_8))));
        Response r = signed(id, "p1").configDrive();
        assertThat(r.getStatus()).isEqualTo(200);
        JsonNode files = JSON.valueToTree(r.getEntity()).path("files");
        List<String> paths = new ArrayList<>();
        files.forEach(f -> paths.add(f.path("path").asText()));
        assertThat(paths).startsWith("ec2/2009-04-04/user-data", "ec2/2009-04-04/meta-data.json",
                "ec2/latest/user-data", "ec2/latest/meta-data.json")
                .contains("openstack/latest/meta_data.json", "openstack/latest/user_data",
                        "openstack/latest/network_data.json", "openstack/latest/vendor_data2.json",
                        "openstack/2012-08-10/meta_data.json")
                .doesNotContain("openstack/latest/password");
        JsonNode latest = JSON.readTree(Base64.getDecoder().decode(files.get(paths.indexOf(
                "openstack/latest/meta_data.json")).path("content").asText()));
        assertThat(latest.path("uuid").asText()).isEqualTo(id);
        assertThat(new String(Base64.getDecoder().decode(files.get(0).path("content").asText()),
                StandardCharsets.UTF_8)).isEqualTo("data");
    }
}
