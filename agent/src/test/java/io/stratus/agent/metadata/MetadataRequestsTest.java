package io.stratus.agent.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.PortBinding;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MetadataRequestsTest {
    private static final String SECRET = "metadata-secret";
    private static final String NET = "aaaaaaaa-0000-4000-8000-00000000000a";
    private static final String OTHER_NET = "bbbbbbbb-0000-4000-8000-00000000000b";
    private static final String VM1 = "11111111-2222-4333-8444-555555555555";
    private static final String VM2 = "22222222-2222-4333-8444-555555555555";
    private static final HostNetworkState STATE = HostNetworkState.newBuilder()
            .addPorts(port("p1", NET, "10.0.0.11", VM1, "project-a"))
            .addPorts(port("p2", NET, "10.0.0.12", VM2, "project-b"))
            // The same address on another network: another instance.
            .addPorts(port("p3", OTHER_NET, "10.0.0.11", VM2, "project-b"))
            // A port no instance has (a router's, say).
            .addPorts(port("p4", NET, "10.0.0.13", "", "project-a"))
            .build();

    private StandInControlPlane controlPlane;
    private MetadataRequests requests;

    @BeforeEach
    void start() throws Exception {
        controlPlane = new StandInControlPlane(SECRET, Map.of(VM1, "project-a", VM2, "project-b"));
        requests = new MetadataRequests(() -> STATE, client(controlPlane.root(), SECRET));
    }

    @AfterEach
    void stop() {
        controlPlane.close();
    }

    static ControlPlaneMetadata client(URI root, String secret) {
        return new ControlPlaneMetadata(HttpClient.newHttpClient(), root, secret, Duration.ofSeconds(5));
    }

    static PortBinding port(String id, String network, String ip, String device, String project) {
        return PortBinding.newBuilder().setPortId(id).setNetworkId(network).setDeviceId(device).setProjectId(project)
                .addFixedIps(FixedIp.newBuilder().setSubnetId("s").setIpAddress(ip)).build();
    }

    private ControlPlaneMetadata.Answer get(String network, String address, String path) {
        return requests.answer(new MetadataRequests.Request("GET", path, Optional.of(network), Optional.of(address),
                new byte[0]));
    }

    private static String text(ControlPlaneMetadata.Answer a) {
        return new String(a.body(), StandardCharsets.UTF_8);
    }

    @Test
    void theNetworkAndAddressFindTheInstanceWhoseMetadataIsAskedForSigned() {
        var a = get(NET, "10.0.0.11", "/openstack/latest/meta_data.json");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.contentType()).isEqualTo("application/json");
        assertThat(text(a)).contains("\"uuid\": \"" + VM1 + "\"", "project-a");
        var seen = controlPlane.seen().get(0);
        assertThat(seen.headers().get("X-instance-id")).containsExactly(VM1);
        assertThat(seen.headers().get("X-tenant-id")).containsExactly("project-a");
        assertThat(seen.headers().get("X-forwarded-for")).containsExactly("10.0.0.11");
        // hmac.new(b"metadata-secret", VM1.encode(), hashlib.sha256).hexdigest()
        assertThat(seen.headers().get("X-instance-id-signature"))
                .containsExactly("ecf6da86488f9a9d76854b0d524c9aa8e85e752df0fe83fc60996c097eae79c6");

        assertThat(text(get(NET, "10.0.0.12", "/latest/meta-data/instance-id"))).isEqualTo(VM2);
        assertThat(text(get(OTHER_NET, "10.0.0.11", "/latest/meta-data/instance-id"))).isEqualTo(VM2);
    }

    @Test
    void anAddressNoInstancesPortHasIsNotFoundWithoutAskingTheControlPlane() {
        assertThat(get(NET, "10.0.0.99", "/latest/meta-data/instance-id").status()).isEqualTo(404);
        assertThat(get(NET, "10.0.0.13", "/latest/meta-data/instance-id").status()).isEqualTo(404);
        assertThat(get("cccccccc-0000-4000-8000-00000000000c", "10.0.0.11", "/latest/meta-data/instance-id").status())
                .isEqualTo(404);
        assertThat(get(NET, "10.0.0.11, 10.0.0.12", "/latest/meta-data/instance-id").status()).isEqualTo(404);
        assertThat(get(NET, "example.com", "/latest/meta-data/instance-id").status()).isEqualTo(404);
        assertThat(controlPlane.requests()).isZero();
    }

    @Test
    void pathsThatCouldLeaveTheMetadataApiAreRefused() {
        for (String path : new String[] {"/../v2.1/servers", "/openstack/../../identity", "/openstack//latest",
                "/%2e%2e/servers", "openstack/latest", "/openstack/latest?x=1", "/a\\b"}) {
            assertThat(get(NET, "10.0.0.11", path).status()).as(path).isEqualTo(400);
        }
        assertThat(controlPlane.requests()).isZero();
        assertThat(get(NET, "10.0.0.11", "/").status()).isEqualTo(404);
        assertThat(get(NET, "10.0.0.11", "/latest/meta-data/").status()).isEqualTo(404);
        assertThat(controlPlane.requests()).isEqualTo(2);
    }

    @Test
    void requestsNotThroughAProxyOrNotGetOrPostAreRefused() {
        assertThat(requests.answer(new MetadataRequests.Request("GET", "/latest/meta-data/instance-id",
                Optional.empty(), Optional.of("10.0.0.11"), new byte[0])).status()).isEqualTo(400);
        assertThat(requests.answer(new MetadataRequests.Request("GET", "/latest/meta-data/instance-id",
                Optional.of(NET), Optional.empty(), new byte[0])).status()).isEqualTo(400);
        assertThat(requests.answer(new MetadataRequests.Request("DELETE", "/openstack/latest/password",
                Optional.of(NET), Optional.of("10.0.0.11"), new byte[0])).status()).isEqualTo(405);
        assertThat(requests.answer(new MetadataRequests.Request("POST", "/openstack/latest/password",
                Optional.of(NET), Optional.of("10.0.0.11"), new byte[MetadataRequests.MAX_BODY + 1])).status())
                .isEqualTo(413);
        assertThat(controlPlane.requests()).isZero();
    }

    @Test
    void aPostCarriesItsBodyForTheInstance() {
        var a = requests.answer(new MetadataRequests.Request("POST", "/openstack/latest/password", Optional.of(NET),
                Optional.of("10.0.0.12"), "encrypted".getBytes(StandardCharsets.UTF_8)));
        assertThat(a.status()).isEqualTo(200);
        assertThat(controlPlane.passwords()).isEqualTo(Map.of(VM2, "encrypted"));
    }

    @Test
    void aWrongSecretIsTheControlPlanesRefusalRelayed() {
        var wrong = new MetadataRequests(() -> STATE, client(controlPlane.root(), "another-secret"));
        var a = wrong.answer(new MetadataRequests.Request("GET", "/latest/meta-data/instance-id", Optional.of(NET),
                Optional.of("10.0.0.11"), new byte[0]));
        assertThat(a.status()).isEqualTo(403);
    }

    @Test
    void aControlPlaneThatDoesNotAnswerIsABadGateway() {
        URI gone = controlPlane.root();
        controlPlane.close();
        var down = new MetadataRequests(() -> STATE, client(gone, SECRET));
        var a = down.answer(new MetadataRequests.Request("GET", "/latest/meta-data/instance-id", Optional.of(NET),
                Optional.of("10.0.0.11"), new byte[0]));
        assertThat(a.status()).isEqualTo(502);
    }
}
