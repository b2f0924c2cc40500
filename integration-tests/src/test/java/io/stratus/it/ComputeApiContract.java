package io.stratus.it;

import io.stratus.kafka.client.Topics;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Timestamp;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The control plane end to end on one database (H2 or PostgreSQL, per subclass): the packaged
 * scheduler and image service as their own processes, the real embedded Kafka broker, and two
 * real agents booting the tiny test guest, fetched from the image service. Agent {@code a-bad}
 * is given an image service address where nothing listens, so every boot placed on it fails; it
 * is kept disabled except where a test wants a boot to fail and be rescheduled.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ComputeApiContract {
    private static final Duration WAIT = Duration.ofSeconds(90);

    private LocalCloud cloud;
    private String url;
    Api admin;
    private Api other;
    String imageId;
    private String otherProjectId;

    /** The scheduler's database for this run. */
    abstract String databaseUrl(Path dir) throws Exception;

    abstract String name();

    @BeforeAll
    void start() throws Exception {
        Path dir = Files.createTempDirectory("stratus-sched-it-");
        cloud = LocalCloud.start(dir, name(), Map.of("stratus.scheduler.db.url", databaseUrl(dir),
                "stratus.scheduler.host-down-after", "PT4S", "stratus.scheduler.sweep-interval", "1s"));
        url = cloud.url;
        admin = cloud.admin;
        cloud.agent("b-good", cloud.imageUrl, 4096, Map.of());
        cloud.agent("a-bad", "http://127.0.0.1:" + QuarkusProcess.freePort() + "/image", 8192, Map.of());
        cloud.awaitHostsUp("a-bad", "b-good");
        switchHost("a-bad", false);

        Api images = admin.at(cloud.imageBase());
        JsonNode image = images.ok("POST", "/image/v2/images", Map.of("name", "instance", "disk_format", "aki",
                "container_format", "aki", "visibility", "public", "os_command_line", "stratus.idle"));
        imageId = image.path("id").asText();
        assertThat(images.upload(imageId, Path.of(System.getProperty("stratus.testGuests"), "instance.elf")).status())
                .isEqualTo(204);
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "t1", "id", "t1", "vcpus", 1,
                "ram", 32, "disk", 0)));
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "t2", "id", "t2", "vcpus", 2,
                "ram", 64, "disk", 0)));
        otherProjectId = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "other")))
                .path("project").path("id").asText();
        String userId = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", "alice",
                "password", "alice-pw", "default_project_id", otherProjectId))).path("user").path("id").asText();
        admin.ok("PUT", "/identity/v3/projects/" + otherProjectId + "/users/" + userId + "/roles/member", null);
        other = Api.login(url, "alice", "alice-pw", "other");
    }

    @AfterAll
    void stop() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void everyCallButDiscoveryNeedsAValidToken() {
        Api anonymous = Api.anonymous(url);
        assertThat(anonymous.call("GET", "/compute/v2.1", null).body().path("version").path("id").asText())
                .isEqualTo("v2.1");
        // Nova lists v2.0 (the API without microversions, served at /compute/v2/) before v2.1.
        assertThat(anonymous.call("GET", "/compute", null).body().path("versions").findValuesAsText("id"))
                .containsExactly("v2.0", "v2.1");
        assertThat(admin.ok("GET", "/compute/v2/flavors", null).path("flavors")).isNotEmpty();
        assertThat(admin.ok("GET", "/compute/v2/", null).path("version").path("id").asText()).isEqualTo("v2.0");
        assertThat(anonymous.call("GET", "/identity/v3", null).status()).isEqualTo(200);
        assertThat(anonymous.call("GET", "/identity/v3/auth/catalog", null).status()).isEqualTo(401);
        // Keystone's catalog and a user's projects, as keystoneauth and tempest ask for them.
        assertThat(other.ok("GET", "/identity/v3/auth/catalog", null).path("catalog").findValuesAsText("type"))
                .contains("compute", "image", "identity");
        String aliceId = admin.ok("GET", "/identity/v3/users?name=alice", null).path("users").path(0).path("id")
                .asText();
        assertThat(other.ok("GET", "/identity/v3/users/" + aliceId + "/projects", null).path("projects")
                .findValuesAsText("name")).containsExactly("other");
        String adminId = admin.ok("GET", "/identity/v3/users?name=admin", null).path("users").path(0).path("id")
                .asText();
        assertThat(other.call("GET", "/identity/v3/users/" + adminId + "/projects", null).status())
                .as("another user's projects").isEqualTo(403);
        Api.Reply none = anonymous.call("GET", "/compute/v2.1/servers", null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.body().has("unauthorized")).isTrue();
        assertThat(none.raw().headers().firstValue("WWW-Authenticate")).isPresent();
        assertThat(anonymous.withToken("forged").call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);
        Api.Reply wrong = anonymous.call("POST", "/identity/v3/auth/tokens", "{\"auth\": {\"identity\": {\"methods\":"
                + " [\"password\"], \"password\": {\"user\": {\"name\": \"admin\", \"password\": \"nope\"}}}}}");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.body().path("error").path("code").asInt()).isEqualTo(401);
    }

    /**
     * Keystone's life cycle as tempest's dynamic credentials and operators use it: users without a
     * default project, unscoped and rescoped tokens (audit chain, expiry, revocation), the reader
     * role, role revocation, disabling, password change and deletion.
     */
    @Test
    void usersAndTokensLiveAsInKeystone() {
        String project = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "lifecycle",
                "domain_id", "default"))).path("project").path("id").asText();
        JsonNode bob = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", "bob",
                "password", "bob-pw", "domain_id", "default"))).path("user");
        assertThat(bob.has("default_project_id")).isFalse();
        String bobId = bob.path("id").asText();
        admin.ok("PUT", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/member", null);
        assertThat(admin.call("HEAD", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/member", null)
                .status()).isEqualTo(204);
        assertThat(admin.ok("GET", "/identity/v3/role_assignments?user.id=" + bobId, null).path("role_assignments")
                .findValuesAsText("id")).contains("member", project);
        assertThat(admin.call("POST", "/identity/v3/roles", Map.of("role", Map.of("name", "member"))).status())
                .isEqualTo(409);

        // No default project and no scope: an unscoped token, good for Identity only, rescoped to a project.
        Api.Reply unscoped = Api.authenticate(url, "bob", "bob-pw", null);
        assertThat(unscoped.status()).isEqualTo(201);
        assertThat(unscoped.body().path("token").has("project")).isFalse();
        assertThat(unscoped.body().path("token").has("catalog")).isFalse();
        Api loose = Api.anonymous(url).withToken(unscoped.raw().headers().firstValue("X-Subject-Token").orElseThrow());
        assertThat(loose.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);
        assertThat(loose.ok("GET", "/identity/v3/auth/projects", null).path("projects").findValuesAsText("id"))
                .containsExactly(project);
        Api.Reply rescoped = loose.rescope(project);
        assertThat(rescoped.status()).isEqualTo(201);
        JsonNode child = rescoped.body().path("token");
        JsonNode parent = unscoped.body().path("token");
        assertThat(child.path("expires_at")).as("a rescoped token expires with its parent")
                .isEqualTo(parent.path("expires_at"));
        assertThat(child.path("audit_ids").path(1)).isEqualTo(parent.path("audit_ids").path(0));
        assertThat(child.path("methods").toString()).isEqualTo("[\"token\",\"password\"]");
        Api scoped = Api.anonymous(url).withToken(rescoped.raw().headers().firstValue("X-Subject-Token").orElseThrow());
        assertThat(scoped.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(200);
        // Validation answers exactly what issuing answered (tempest compares the two).
        Api.Reply validated = admin.validate(scoped.token());
        assertThat(validated.status()).isEqualTo(200);
        assertThat(validated.body().path("token")).isEqualTo(child);
        assertThat(admin.validate("forged").status()).isEqualTo(404);
        // Revoking the token a chain began with revokes the tokens rescoped from it.
        assertThat(loose.call("DELETE", "/identity/v3/auth/tokens", null).status()).as("no X-Subject-Token")
                .isEqualTo(400);
        assertThat(loose.revoke(loose.token()).status()).isEqualTo(204);
        assertThat(loose.revoke(loose.token()).status()).isEqualTo(401);
        assertThat(scoped.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);

        // reader reads and changes nothing, here or in the image service.
        Api bobs = Api.login(url, "bob", "bob-pw", "lifecycle");
        admin.ok("PUT", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/reader", null);
        admin.ok("DELETE", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/member", null);
        assertThat(bobs.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(200);
        Api.Reply refused = bobs.call("POST", "/compute/v2.1/servers", Api.server("r", "t1", imageId));
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.message()).contains("member");
        assertThat(bobs.at(cloud.imageBase()).call("GET", "/image/v2/images", null).status()).isEqualTo(200);
        assertThat(bobs.at(cloud.imageBase()).call("POST", "/image/v2/images", Map.of("name", "r",
                "disk_format", "raw", "container_format", "bare")).status()).isEqualTo(403);
        // Without any role left on the project the token stops working.
        admin.ok("DELETE", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/reader", null);
        assertThat(bobs.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);
        assertThat(admin.call("DELETE", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/reader",
                null).status()).isEqualTo(404);
        admin.ok("PUT", "/identity/v3/projects/" + project + "/users/" + bobId + "/roles/member", null);

        // Disabled: no login, no token; enabled again: login.
        bobs = Api.login(url, "bob", "bob-pw", "lifecycle");
        assertThat(admin.ok("PATCH", "/identity/v3/users/" + bobId, Map.of("user", Map.of("enabled", false)))
                .path("user").path("enabled").asBoolean()).isFalse();
        assertThat(bobs.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);
        assertThat(Api.authenticate(url, "bob", "bob-pw", "lifecycle").status()).isEqualTo(401);
        admin.ok("PATCH", "/identity/v3/users/" + bobId, Map.of("user", Map.of("enabled", true)));

        // A password change needs the old one and revokes the user's tokens.
        bobs = Api.login(url, "bob", "bob-pw", "lifecycle");
        assertThat(bobs.call("POST", "/identity/v3/users/" + bobId + "/password", Map.of("user", Map.of(
                "original_password", "wrong", "password", "bob-pw2"))).status()).isEqualTo(401);
        assertThat(other.call("POST", "/identity/v3/users/" + bobId + "/password", Map.of("user", Map.of(
                "original_password", "bob-pw", "password", "bob-pw2"))).status()).isEqualTo(403);
        assertThat(bobs.call("POST", "/identity/v3/users/" + bobId + "/password", Map.of("user", Map.of(
                "original_password", "bob-pw", "password", "bob-pw2"))).status()).isEqualTo(204);
        assertThat(bobs.call("GET", "/compute/v2.1/servers", null).status()).isEqualTo(401);
        assertThat(Api.authenticate(url, "bob", "bob-pw", "lifecycle").status()).isEqualTo(401);
        assertThat(Api.authenticate(url, "bob", "bob-pw2", "lifecycle").status()).isEqualTo(201);

        // Deleting the user and the project, as tempest does after each test class.
        assertThat(other.call("DELETE", "/identity/v3/users/" + bobId, null).status()).isEqualTo(403);
        admin.ok("DELETE", "/identity/v3/users/" + bobId, null);
        assertThat(Api.authenticate(url, "bob", "bob-pw2", "lifecycle").status()).isEqualTo(401);
        assertThat(admin.call("DELETE", "/identity/v3/users/" + bobId, null).status()).isEqualTo(404);
        admin.ok("DELETE", "/identity/v3/projects/" + project, null);
        assertThat(admin.call("GET", "/identity/v3/projects/" + project, null).status()).isEqualTo(404);
    }

    @Test
    void theMicroversionIsNegotiatedAndNamedInEveryV21Response() {
        String max = Api.anonymous(url).call("GET", "/compute/v2.1", null).body().path("version").path("version")
                .asText();
        assertThat(max).matches("2\\.[0-9]+");
        Api.Reply plain = admin.call("GET", "/compute/v2.1/flavors", null);
        assertThat(plain.raw().headers().firstValue("OpenStack-API-Version")).contains("compute 2.1");
        assertThat(plain.raw().headers().firstValue("X-OpenStack-Nova-API-Version")).contains("2.1");
        assertThat(plain.raw().headers().allValues("Vary").toString()).contains("OpenStack-API-Version")
                .contains("X-OpenStack-Nova-API-Version");
        assertThat(plain.raw().headers().firstValue("x-openstack-request-id")).hasValueSatisfying(id ->
                assertThat(id).matches("req-[0-9a-f-]{36}"));
        Api.Reply latest = admin.withHeader("X-OpenStack-Nova-API-Version", "latest").call("GET",
                "/compute/v2.1/flavors", null);
        assertThat(latest.raw().headers().firstValue("OpenStack-API-Version")).contains("compute " + max);
        assertThat(latest.raw().headers().firstValue("X-OpenStack-Nova-API-Version")).contains(max);
        Api.Reply far = admin.atMicroversion("2.999").call("GET", "/compute/v2.1/flavors", null);
        assertThat(far.status()).isEqualTo(406);
        assertThat(far.message()).isEqualTo("Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is "
                + max + ".");
        Api.Reply malformed = admin.atMicroversion("2.x").call("GET", "/compute/v2.1/flavors", null);
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.message()).contains("is of invalid format");
        // v2.0 ignores microversions and names none; so does the unversioned document.
        Api.Reply legacy = admin.atMicroversion("2.999").call("GET", "/compute/v2/flavors", null);
        assertThat(legacy.status()).isEqualTo(200);
        assertThat(legacy.raw().headers().firstValue("OpenStack-API-Version")).isEmpty();
        assertThat(Api.anonymous(url).call("GET", "/compute", null).raw().headers()
                .firstValue("OpenStack-API-Version")).isEmpty();
    }

    @Test
    void aUsersKeypairsAreGeneratedImportedListedAndDeletedAsNovaAnswers() {
        // 2.1: no type; create answers 200, delete 202.
        Api.Reply made = other.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-gen")));
        assertThat(made.status()).isEqualTo(200);
        assertThat(made.body().path("keypair").path("private_key").asText()).startsWith("-----BEGIN RSA PRIVATE KEY");
        assertThat(made.body().path("keypair").has("type")).isFalse();
        String key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIwFPWnUBqUCg8mEh+d2NF6HNPxw0mSdKED9DWfzcP9c me@it";
        Api v22 = other.atMicroversion("2.2");
        Api.Reply imported = v22.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-imp",
                "public_key", key)));
        assertThat(imported.status()).isEqualTo(201);
        assertThat(imported.body().path("keypair").path("fingerprint").asText())
                .isEqualTo("f2:9d:a7:e7:9a:e2:28:8f:59:82:6b:d9:17:4f:dd:60");
        assertThat(imported.body().path("keypair").path("type").asText()).isEqualTo("ssh");
        Api.Reply cert = v22.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-x509",
                "type", "x509")));
        assertThat(cert.status()).isEqualTo(201);
        assertThat(cert.body().path("keypair").path("public_key").asText()).startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(v22.ok("GET", "/compute/v2.1/os-keypairs", null).path("keypairs").findValuesAsText("type"))
                .containsExactly("ssh", "ssh", "x509");
        JsonNode shown = other.ok("GET", "/compute/v2.1/os-keypairs/it-imp", null).path("keypair");
        assertThat(shown.path("public_key").asText()).isEqualTo(key);
        assertThat(shown.path("id").isIntegralNumber()).isTrue();
        // Another user has none of them.
        assertThat(admin.ok("GET", "/compute/v2.1/os-keypairs", null).path("keypairs").findValuesAsText("name"))
                .doesNotContain("it-gen", "it-imp");
        assertThat(admin.call("GET", "/compute/v2.1/os-keypairs/it-imp", null).status()).isEqualTo(404);

        assertThat(other.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-imp")))
                .status()).isEqualTo(409);
        for (Map<String, Object> bad : List.<Map<String, Object>>of(Map.of("name", "bad/name"), Map.of("name", ""),
                Map.of("name", "k", "public_key", "ssh-rsa JUNK nova@ubuntu"), Map.of("name", "k", "type", "x509"))) {
            assertThat(other.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", bad)).status()).as("%s", bad)
                    .isEqualTo(400);
        }
        assertThat(v22.call("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "k", "type", "dsa")))
                .status()).isEqualTo(400);
        assertThat(other.call("DELETE", "/compute/v2.1/os-keypairs/it-gen", null).status()).isEqualTo(202);
        assertThat(v22.call("DELETE", "/compute/v2.1/os-keypairs/it-imp", null).status()).isEqualTo(204);
        assertThat(v22.call("DELETE", "/compute/v2.1/os-keypairs/it-imp", null).status()).isEqualTo(404);
        assertThat(v22.call("DELETE", "/compute/v2.1/os-keypairs/it-x509", null).status()).isEqualTo(204);
        assertThat(other.ok("GET", "/compute/v2.1/os-keypairs", null).path("keypairs")).isEmpty();
    }

    @Test
    void badInputIsAClearClientErrorAndChangesNothing() {
        int before = admin.ok("GET", "/compute/v2.1/servers", null).path("servers").size();
        Api.Reply r = admin.call("POST", "/compute/v2.1/servers", "{\"server\": {\"name\": ");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("JSON");
        r = admin.call("POST", "/compute/v2.1/servers", Api.server("x", "no-such-flavor", imageId));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo("Flavor no-such-flavor could not be found.");
        r = admin.call("POST", "/compute/v2.1/servers", Api.server("x", "t1", "no-such-image"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo("Image no-such-image could not be found.");
        assertThat(admin.call("POST", "/compute/v2.1/servers", Api.server("", "t1", imageId)).status()).isEqualTo(400);
        assertThat(admin.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "x", "flavorRef",
                "t1", "imageRef", imageId, "min_count", 0))).status()).isEqualTo(400);
        assertThat(admin.call("POST", "/compute/v2.1/servers", Map.of("server", "x")).status()).isEqualTo(400);
        r = admin.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "x", "flavorRef", "t1",
                "imageRef", imageId, "key_name", "mykey")));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo("Invalid key_name provided.");
        // Another user's keypair is no keypair of the caller's.
        other.ok("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "alices")));
        assertThat(admin.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "x", "flavorRef", "t1",
                "imageRef", imageId, "key_name", "alices"))).status()).isEqualTo(400);
        other.ok("DELETE", "/compute/v2.1/os-keypairs/alices", null);
        for (Map<String, Object> metadata : List.<Map<String, Object>>of(Map.of("a", "b".repeat(260)),
                Map.of("bad/key", "v"), Map.of("n", 1))) {
            assertThat(admin.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "x", "flavorRef",
                    "t1", "imageRef", imageId, "metadata", metadata))).status()).as("%s", metadata).isEqualTo(400);
        }
        r = admin.call("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "neg", "vcpus", 1,
                "ram", -512, "disk", 0)));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("'ram'");
        assertThat(admin.call("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "huge",
                "vcpus", 1L << 40, "ram", 512, "disk", 0))).status()).isEqualTo(400);
        assertThat(admin.call("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "words",
                "vcpus", "two", "ram", 512, "disk", 0))).status()).isEqualTo(400);
        r = other.call("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "mine", "vcpus", 1,
                "ram", 512, "disk", 0)));
        assertThat(r.status()).isEqualTo(403);
        assertThat(admin.call("POST", "/compute/v2.1/servers/nope/action", Map.of("os-stop", Map.of())).status())
                .isEqualTo(404);
        assertThat(admin.call("GET", "/compute/v2.1/flavors/neg", null).status()).isEqualTo(404);
        assertThat(admin.ok("GET", "/compute/v2.1/servers", null).path("servers").size()).isEqualTo(before);
    }

    /**
     * The NICs a create asks for are checked against the Network API before a server is made, with
     * Nova's codes; a refused create leaves no server and no port behind.
     */
    @Test
    void aCreatesNetworksAreCheckedAndARefusedCreateLeavesNoPort() {
        Map<String, Object> base = Map.of("name", "x", "flavorRef", "t1", "imageRef", imageId);
        int servers = other.ok("GET", "/compute/v2.1/servers", null).path("servers").size();
        Api.Reply r = other.call("POST", "/compute/v2.1/servers", server(base, "networks",
                List.of(Map.of("uuid", "not-a-uuid"))));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("Bad networks format");
        r = other.call("POST", "/compute/v2.1/servers", server(base, "networks",
                List.of(Map.of("uuid", "3f0cb5c8-6b6e-4a43-9e1c-6a1f8e2a1b10"))));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("3f0cb5c8-6b6e-4a43-9e1c-6a1f8e2a1b10");
        String one = other.ok("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "one")))
                .path("network").path("id").asText();
        String two = other.ok("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "two")))
                .path("network").path("id").asText();
        try {
            other.ok("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", one, "ip_version", 4,
                    "cidr", "10.9.0.0/29")));
            // Two networks: "auto" (what a create without networks means) cannot choose.
            r = other.call("POST", "/compute/v2.1/servers", Map.of("server", base));
            assertThat(r.status()).isEqualTo(409);
            assertThat(r.message()).contains("Multiple possible networks found");
            String used = other.ok("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", one,
                    "device_id", "something-else"))).path("port").path("id").asText();
            r = other.call("POST", "/compute/v2.1/servers", server(base, "networks", List.of(Map.of("port", used))));
            assertThat(r.status()).isEqualTo(409);
            r = other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "x", "flavorRef", "t1",
                    "imageRef", imageId, "max_count", 2, "networks", List.of(Map.of("uuid", one, "fixed_ip",
                            "10.9.0.5")))));
            assertThat(r.status()).isEqualTo(400);
            // The second NIC's address is taken: the first NIC's port must not stay behind.
            r = other.call("POST", "/compute/v2.1/servers", server(base, "networks", List.of(Map.of("uuid", one),
                    Map.of("uuid", one, "fixed_ip", other.ok("GET", "/network/v2.0/ports/" + used, null)
                            .path("port").path("fixed_ips").path(0).path("ip_address").asText()))));
            assertThat(r.status()).isEqualTo(400);
            assertThat(other.ok("GET", "/network/v2.0/ports?network_id=" + one, null).path("ports")
                    .findValuesAsText("id")).containsExactly(used);
            assertThat(other.ok("GET", "/compute/v2.1/servers", null).path("servers").size()).isEqualTo(servers);
            other.ok("DELETE", "/network/v2.0/ports/" + used, null);
        } finally {
            other.ok("DELETE", "/network/v2.0/networks/" + one, null);
            other.ok("DELETE", "/network/v2.0/networks/" + two, null);
        }
    }

    /** The first member of an affinity group goes anywhere; the next ones join it. */
    @Test
    void theMembersOfAnAffinityGroupShareAHost() {
        String group = admin.ok("POST", "/compute/v2.1/os-server-groups", Map.of("server_group", Map.of("name",
                "together", "policies", List.of("affinity")))).path("server_group").path("id").asText();
        List<String> ids = new ArrayList<>();
        for (String name : List.of("first", "second")) {
            ids.add(admin.ok("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef", "t1",
                    "imageRef", imageId), "os:scheduler_hints", Map.of("group", group))).path("server").path("id")
                    .asText());
            // One at a time: the second is placed knowing where the first is.
            await(ids.get(ids.size() - 1), "ACTIVE");
        }
        assertThat(ids.stream().map(id -> server(id).path("OS-EXT-SRV-ATTR:host").asText()).distinct().toList())
                .containsExactly("b-good");
        for (String id : ids) {
            admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
            awaitGone(id);
        }
        admin.ok("DELETE", "/compute/v2.1/os-server-groups/" + group, null);
    }

    private static Map<String, Object> server(Map<String, Object> base, String field, Object value) {
        Map<String, Object> s = new LinkedHashMap<>(base);
        s.put(field, value);
        return Map.of("server", s);
    }

    @Test
    void aServerBootsRunsStopsStartsAndIsDeletedAndOnlyItsProjectSeesIt() {
        String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("life", "t1", imageId)).path("server")
                .path("id").asText();
        JsonNode s = await(id, "ACTIVE");
        assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("b-good");
        assertThat(awaitConsole(id, "STRATUS-GUEST-READY cpus=1")).isTrue();
        assertThat(used("b-good", "vcpus_used")).isEqualTo(1);

        // Another project: the server does not exist for it, and nothing it tries changes it.
        assertThat(other.ok("GET", "/compute/v2.1/servers/detail", null).path("servers")).isEmpty();
        assertThat(other.call("GET", "/compute/v2.1/servers/" + id, null).status()).isEqualTo(404);
        assertThat(other.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()))
                .status()).isEqualTo(404);
        assertThat(other.call("DELETE", "/compute/v2.1/servers/" + id, null).status()).isEqualTo(404);
        assertThat(server(id).path("status").asText()).isEqualTo("ACTIVE");

        assertThat(admin.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()))
                .status()).isEqualTo(202);
        await(id, "SHUTOFF");
        Api.Reply again = admin.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()));
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.message()).contains("vm_state shutoff");
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-start", Map.of()));
        await(id, "ACTIVE");
        assertThat(admin.call("DELETE", "/compute/v2.1/servers/" + id, null).status()).isEqualTo(204);
        awaitGone(id);
        assertThat(used("b-good", "vcpus_used")).isZero();

        String metrics = Api.anonymous(url).call("GET", "/metrics", null).raw().body();
        assertThat(metrics).containsPattern("stratus_scheduler_placements_total\\{result=\"placed\"} [1-9]")
                .contains("stratus_scheduler_hosts{state=\"up\"}");
    }

    /**
     * Nova's server API as tempest checks it: the create answer, request ids and instance actions,
     * update, lock, and the list filters and paging.
     */
    @Test
    void serversAnswerAndChangeAsInNova() {
        Api.Reply created = other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "nova-a",
                "flavorRef", "t1", "imageRef", imageId, "adminPass", "secret-pw", "accessIPv4", "192.0.2.10")));
        assertThat(created.status()).isEqualTo(202);
        // Nova's create answer has exactly these fields (tempest's schema allows no others).
        assertThat(Api.JSON.convertValue(created.body().path("server"), Map.class).keySet())
                .containsExactlyInAnyOrder("id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass");
        assertThat(created.body().path("server").path("adminPass").asText()).isEqualTo("secret-pw");
        String requestId = created.raw().headers().firstValue("x-compute-request-id").orElseThrow();
        assertThat(requestId).startsWith("req-");
        assertThat(created.raw().headers().firstValue("x-openstack-request-id")).contains(requestId);
        String id = created.body().path("server").path("id").asText();
        try {
            checkServerAsInNova(id, requestId);
        } finally {
            // Other tests count this project's servers: leave none behind, whatever failed.
            other.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("unlock", Map.of()));
            other.call("DELETE", "/compute/v2.1/servers/" + id, null);
            other.awaitGone(id, WAIT);
        }
    }

    private void checkServerAsInNova(String id, String requestId) {
        await(other, id, "ACTIVE");
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id, null).path("server").path("accessIPv4").asText())
                .isEqualTo("192.0.2.10");
        JsonNode action = other.ok("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions/" + requestId, null)
                .path("instanceAction");
        assertThat(action.path("action").asText()).isEqualTo("create");
        assertThat(action.path("instance_uuid").asText()).isEqualTo(id);
        assertThat(other.call("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions/req-nope", null).status())
                .isEqualTo(404);

        // Update: name and access addresses; a bad address or a blank name is a 400 that changes nothing.
        JsonNode renamed = other.ok("PUT", "/compute/v2.1/servers/" + id, Map.of("server", Map.of("name", "nova-b",
                "accessIPv6", "2001:0DB8:0:0::0010"))).path("server");
        assertThat(renamed.path("name").asText()).isEqualTo("nova-b");
        assertThat(renamed.path("accessIPv6").asText()).isEqualTo("2001:db8::10");
        assertThat(other.call("PUT", "/compute/v2.1/servers/" + id, Map.of("server", Map.of("accessIPv6", "1.1.1.1")))
                .status()).isEqualTo(400);
        assertThat(other.call("PUT", "/compute/v2.1/servers/" + id, Map.of("server", Map.of("name", "")))
                .status()).isEqualTo(400);
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id, null).path("server").path("name").asText())
                .isEqualTo("nova-b");

        // Locked: the owner's actions are refused (409) until it unlocks; an admin's are not.
        other.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("lock", Map.of()));
        assertThat(other.call("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()))
                .status()).isEqualTo(409);
        assertThat(other.call("DELETE", "/compute/v2.1/servers/" + id, null).status()).isEqualTo(409);
        other.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("unlock", Map.of()));
        other.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of()));
        await(other, id, "SHUTOFF");
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions", null)
                .path("instanceActions").findValuesAsText("action")).containsExactly("stop", "unlock", "lock", "create");

        // Filters and paging.
        String path = "/compute/v2.1/servers/detail";
        assertThat(other.ok("GET", path + "?flavor=t1", null).path("servers").findValuesAsText("id")).contains(id);
        assertThat(other.ok("GET", path + "?flavor=no-such", null).path("servers")).isEmpty();
        assertThat(other.ok("GET", path + "?image=" + imageId, null).path("servers").findValuesAsText("id"))
                .contains(id);
        assertThat(other.ok("GET", path + "?name=ova-", null).path("servers").findValuesAsText("id")).contains(id);
        assertThat(other.ok("GET", path + "?status=SHUTOFF", null).path("servers").findValuesAsText("id"))
                .contains(id);
        assertThat(other.ok("GET", path + "?ip=10.0.0.1", null).path("servers")).isEmpty();
        assertThat(other.call("GET", path + "?limit=-1", null).status()).isEqualTo(400);
        assertThat(other.call("GET", path + "?limit=ten", null).status()).isEqualTo(400);
        assertThat(other.call("GET", path + "?changes-since=2011/01/01", null).status()).isEqualTo(400);
        assertThat(other.ok("GET", path + "?changes-since=2999-01-01T00:00:00Z", null).path("servers")).isEmpty();
        JsonNode page = other.ok("GET", "/compute/v2.1/servers?limit=1", null);
        assertThat(page.path("servers")).hasSize(1);
        assertThat(page.path("servers_links").path(0).path("href").asText()).contains("marker=");

        String since = Instant.now().minusSeconds(5).toString();
        assertThat(other.call("DELETE", "/compute/v2.1/servers/" + id, null).status()).isEqualTo(204);
        other.awaitGone(id, WAIT);
        assertThat(other.ok("GET", path, null).path("servers").findValuesAsText("id")).doesNotContain(id);
        // changes-since lists deleted servers too, so that a poller learns of deletions.
        JsonNode changed = other.ok("GET", path + "?changes-since=" + since, null).path("servers");
        assertThat(changed.findValuesAsText("id")).contains(id);
    }

    @Test
    void aServerIsBootedWithAKeypairAndMetadataAndItsMetadataChangesAsNovas() {
        other.ok("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-boot")));
        Api.Reply created = other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "keyed",
                "flavorRef", "t1", "imageRef", imageId, "key_name", "it-boot", "metadata", Map.of("role", "web",
                "tier", "1"))));
        assertThat(created.status()).isEqualTo(202);
        // Nova's create answer, which tempest checks field by field, and the request id tempest reads.
        assertThat(created.body().path("server").fieldNames()).toIterable().containsExactlyInAnyOrder("id", "links",
                "OS-DCF:diskConfig", "security_groups", "adminPass");
        assertThat(created.raw().headers().firstValue("x-openstack-request-id")).isPresent();
        String id = created.body().path("server").path("id").asText();
        // Deleting the keypair later changes nothing for the server: it keeps the key it was given.
        assertThat(other.call("DELETE", "/compute/v2.1/os-keypairs/it-boot", null).status()).isEqualTo(202);
        JsonNode s = await(other, id, "ACTIVE");
        assertThat(s.path("key_name").asText()).isEqualTo("it-boot");
        assertThat(s.path("metadata")).isEqualTo(Api.JSON.valueToTree(Map.of("role", "web", "tier", "1")));
        JsonNode listed = other.ok("GET", "/compute/v2.1/servers/detail", null).path("servers");
        assertThat(listed.findValues("metadata")).contains(Api.JSON.valueToTree(Map.of("role", "web", "tier", "1")));

        String base = "/compute/v2.1/servers/" + id + "/metadata";
        assertThat(other.ok("POST", base, Map.of("metadata", Map.of("tier", "2", "zone", "a"))).path("metadata"))
                .isEqualTo(Api.JSON.valueToTree(Map.of("role", "web", "tier", "2", "zone", "a")));
        assertThat(other.ok("PUT", base + "/zone", Map.of("meta", Map.of("zone", "b"))).path("meta").path("zone")
                .asText()).isEqualTo("b");
        assertThat(other.call("PUT", base + "/zone", Map.of("meta", Map.of("other", "b"))).status()).isEqualTo(400);
        assertThat(other.call("DELETE", base + "/role", null).status()).isEqualTo(204);
        assertThat(other.call("GET", base + "/role", null).status()).isEqualTo(404);
        assertThat(other.ok("PUT", base, Map.of("metadata", Map.of("only", "this"))).path("metadata"))
                .isEqualTo(Api.JSON.valueToTree(Map.of("only", "this")));
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id, null).path("server").path("metadata"))
                .isEqualTo(Api.JSON.valueToTree(Map.of("only", "this")));
        assertThat(other.call("POST", base, Map.of("metadata", Map.of("v", "x".repeat(256)))).status()).isEqualTo(400);
        assertThat(admin.call("GET", base, null).status()).as("an admin sees it").isEqualTo(200);
        other.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        awaitGone(id);
        assertThat(other.call("GET", base, null).status()).isEqualTo(404);
    }

    /**
     * What cloud-init reads: a server made with user data, a keypair and a config drive shows
     * them as Nova does, and the metadata API answers its agent's proxy for it (a signed request),
     * nobody else (a bad signature, or another project's), with its config drive's files too.
     */
    @Test
    void aServersUserDataKeyAndConfigDriveReachTheMetadataServiceAsNovas() throws Exception {
        String key = other.ok("POST", "/compute/v2.1/os-keypairs", Map.of("keypair", Map.of("name", "it-meta")))
                .path("keypair").path("public_key").asText();
        String script = "#cloud-config\nruncmd:\n  - echo hello\n";
        String userData = Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_8));
        Map<String, Object> server = new LinkedHashMap<>(Map.of("name", "Meta Node", "flavorRef", "t1", "imageRef",
                imageId, "key_name", "it-meta", "config_drive", true, "user_data", userData, "metadata",
                Map.of("role", "db")));
        assertThat(other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "m", "flavorRef", "t1",
                "imageRef", imageId, "user_data", "not base64!"))).status()).isEqualTo(400);
        assertThat(other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "m", "flavorRef", "t1",
                "imageRef", imageId, "key_name", "no-such-key"))).status()).isEqualTo(400);
        String id = other.ok("POST", "/compute/v2.1/servers", Map.of("server", server)).path("server").path("id")
                .asText();
        JsonNode shown = await(other, id, "ACTIVE");
        assertThat(shown.path("config_drive").asText()).isEqualTo("True");
        assertThat(shown.path("key_name").asText()).isEqualTo("it-meta");
        assertThat(shown.has("OS-EXT-SRV-ATTR:user_data")).as("admins only").isFalse();
        JsonNode asAdmin = admin.atMicroversion("2.3").ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
        assertThat(asAdmin.path("OS-EXT-SRV-ATTR:hostname").asText()).isEqualTo("meta-node");
        assertThat(asAdmin.path("OS-EXT-SRV-ATTR:user_data").asText()).isEqualTo(userData);
        assertThat(asAdmin.path("OS-EXT-SRV-ATTR:reservation_id").asText()).matches("r-[0-9a-z]{8}");
        assertThat(asAdmin.path("OS-EXT-SRV-ATTR:launch_index").asInt()).isZero();
        assertThat(asAdmin.path("OS-EXT-SRV-ATTR:root_device_name").asText()).isEqualTo("/dev/vda");
        assertThat(admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server")
                .has("OS-EXT-SRV-ATTR:hostname")).as("not at 2.1").isFalse();

        Api proxy = MetadataProxy.forInstance(url, id, otherProjectId, cloud.metadataSecret);
        JsonNode md = proxy.ok("GET", "/metadata/openstack/latest/meta_data.json", null);
        assertThat(md.path("uuid").asText()).isEqualTo(id);
        assertThat(md.path("hostname").asText()).isEqualTo("meta-node.novalocal");
        assertThat(md.path("public_keys").path("it-meta").asText()).isEqualTo(key);
        assertThat(md.path("meta").path("role").asText()).isEqualTo("db");
        assertThat(md.path("project_id").asText()).isEqualTo(otherProjectId);
        assertThat(proxy.call("GET", "/metadata/openstack/latest/user_data", null).raw().body()).isEqualTo(script);
        assertThat(proxy.call("GET", "/metadata/latest/meta-data/public-keys/", null).raw().body())
                .isEqualTo("0=it-meta");
        assertThat(proxy.call("GET", "/metadata/latest/meta-data/public-keys/0/openssh-key", null).raw().body())
                .isEqualTo(key);
        assertThat(proxy.call("GET", "/metadata/", null).raw().body()).endsWith("2009-04-04\nlatest");
        assertThat(proxy.call("GET", "/metadata/openstack/latest/nothing", null).status()).isEqualTo(404);
        JsonNode files = proxy.ok("GET", "/metadata/config-drive", null).path("files");
        assertThat(files.findValuesAsText("path")).contains("openstack/latest/meta_data.json",
                "openstack/latest/user_data", "openstack/latest/network_data.json", "ec2/latest/meta-data.json",
                "ec2/latest/user-data");
        for (JsonNode f : files) {
            if (f.path("path").asText().equals("openstack/latest/user_data")) {
                assertThat(new String(Base64.getDecoder().decode(f.path("content").asText()), StandardCharsets.UTF_8))
                        .isEqualTo(script);
            }
        }
        // The guest posts its password once; its owner reads it with os-server-password and may clear it.
        assertThat(proxy.call("POST", "/metadata/openstack/latest/password", "ZW5jcnlwdGVk").status()).isEqualTo(200);
        assertThat(proxy.call("POST", "/metadata/openstack/latest/password", "again").status()).isEqualTo(409);
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id + "/os-server-password", null).path("password")
                .asText()).isEqualTo("ZW5jcnlwdGVk");
        assertThat(other.call("DELETE", "/compute/v2.1/servers/" + id + "/os-server-password", null).status())
                .isEqualTo(204);
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id + "/os-server-password", null).path("password")
                .asText()).isEmpty();

        // Nobody but the instance's proxy: a wrong signature is 403, another project's word for it 404.
        Api forged = MetadataProxy.forInstance(url, id, otherProjectId, "not-the-secret");
        assertThat(forged.call("GET", "/metadata/openstack/latest/meta_data.json", null).status()).isEqualTo(403);
        assertThat(forged.call("GET", "/metadata/config-drive", null).status()).isEqualTo(403);
        String adminProject = admin.ok("GET", "/identity/v3/projects?name=admin", null).path("projects").path(0)
                .path("id").asText();
        Api elsewhere = MetadataProxy.forInstance(url, id, adminProject, cloud.metadataSecret);
        assertThat(elsewhere.call("GET", "/metadata/openstack/latest/meta_data.json", null).status()).isEqualTo(404);
        assertThat(Api.anonymous(url).call("GET", "/metadata/openstack/latest/meta_data.json", null).status())
                .as("no proxy headers").isEqualTo(400);
        // The token-free /metadata opens nothing else: a path climbing out of it reaches no server list.
        for (String climb : List.of("/metadata/../compute/v2.1/servers", "/metadata/%2e%2e/compute/v2.1/servers")) {
            Api.Reply r = Api.anonymous(url).call("GET", climb, null);
            assertThat(r.status()).as(climb).isIn(400, 401, 404);
            assertThat(r.raw().body()).as(climb).doesNotContain(id);
        }

        other.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        other.ok("DELETE", "/compute/v2.1/os-keypairs/it-meta", null);
        awaitGone(id);
        assertThat(proxy.call("GET", "/metadata/openstack/latest/meta_data.json", null).status()).isEqualTo(404);
    }

    @Test
    void aFailedBootIsRescheduledOnAnotherHostAndItsClaimGoesBack() {
        switchHost("a-bad", true);
        try {
            // a-bad offers more memory, so the RAM weigher sends the boot there first; it cannot fetch images.
            String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("resched", "t1", imageId))
                    .path("server").path("id").asText();
            JsonNode s = await(id, "ACTIVE");
            assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("b-good");
            assertThat(used("a-bad", "vcpus_used")).isZero();
            assertThat(used("b-good", "vcpus_used")).isEqualTo(1);
            admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
            awaitGone(id);
        } finally {
            switchHost("a-bad", false);
        }
    }

    @Test
    void aResizeOnTheSameHostIsConfirmedAndPlacementFollows() {
        String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("grow", "t1", imageId)).path("server")
                .path("id").asText();
        await(id, "ACTIVE");
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("resize", Map.of("flavorRef", "t2")));
        JsonNode s = await(id, "VERIFY_RESIZE");
        assertThat(s.path("flavor").path("id").asText()).isEqualTo("t2");
        assertThat(used("b-good", "vcpus_used")).as("old and new size held until confirmed").isEqualTo(3);
        assertThat(migrationOf(id)).isEqualTo("resize finished b-good->b-good");
        admin.ok("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("confirmResize", Map.of()));
        s = await(id, "ACTIVE");
        assertThat(s.path("flavor").path("id").asText()).isEqualTo("t2");
        assertThat(used("b-good", "vcpus_used")).isEqualTo(2);
        assertThat(migrationOf(id)).isEqualTo("resize confirmed b-good->b-good");
        assertThat(awaitConsole(id, "STRATUS-GUEST-READY cpus=2")).isTrue();
        admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        awaitGone(id);
        assertThat(used("b-good", "vcpus_used")).isZero();
    }

    /** The server's one migration record: "type status source->dest". */
    private String migrationOf(String id) {
        JsonNode all = admin.ok("GET", "/compute/v2.1/os-migrations?instance_uuid=" + id, null).path("migrations");
        assertThat(all.size()).as(all.toString()).isEqualTo(1);
        JsonNode m = all.get(0);
        return m.path("migration_type").asText() + " " + m.path("status").asText() + " "
                + m.path("source_compute").asText() + "->" + m.path("dest_compute").asText();
    }

    /**
     * Nova's createImage and rebuild: the disk of a project's server becomes a snapshot image of
     * that project (with Nova's properties, the disk's bytes as they were), the server is rebuilt
     * from it; an image of a server without a disk fails and is deleted, the server as it was.
     */
    @Test
    void anImageIsMadeOfAServersDiskAndTheServerIsRebuiltFromIt() throws Exception {
        Api images = admin.at(cloud.imageBase());
        Path raw = Files.createTempFile("stratus-it-disk-", ".raw");
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        Files.write(raw, data);
        String diskId = images.ok("POST", "/image/v2/images", Map.of("name", "disk", "disk_format", "raw",
                "container_format", "bare", "visibility", "public", "kernel_id", imageId,
                "os_command_line", "stratus.idle")).path("id").asText();
        assertThat(images.upload(diskId, raw).status()).isEqualTo(204);
        String diskSha = images.ok("GET", "/image/v2/images/" + diskId, null).path("os_hash_value").asText();

        String id = other.ok("POST", "/compute/v2.1/servers", Api.server("snap", "t1", diskId)).path("server")
                .path("id").asText();
        await(other, id, "ACTIVE");
        Api.Reply made = other.call("POST", "/compute/v2.1/servers/" + id + "/action",
                Map.of("createImage", Map.of("name", "snap-1", "metadata", Map.of("purpose", "it"))));
        assertThat(made.status()).isEqualTo(202);
        String location = made.raw().headers().firstValue("Location").orElseThrow();
        String snapId = location.substring(location.lastIndexOf('/') + 1);
        JsonNode shown = awaitImage(other, snapId, "ACTIVE");
        assertThat(shown.path("name").asText()).isEqualTo("snap-1");
        assertThat(shown.path("metadata").path("image_type").asText()).isEqualTo("snapshot");
        assertThat(shown.path("metadata").path("instance_uuid").asText()).isEqualTo(id);
        assertThat(shown.path("metadata").path("base_image_ref").asText()).isEqualTo(diskId);
        assertThat(shown.path("metadata").path("kernel_id").asText()).isEqualTo(imageId);
        assertThat(shown.path("metadata").path("purpose").asText()).isEqualTo("it");
        JsonNode glance = images.ok("GET", "/image/v2/images/" + snapId, null);
        assertThat(glance.path("owner").asText()).isEqualTo(otherProjectId);
        assertThat(glance.path("disk_format").asText()).isEqualTo("raw");
        assertThat(glance.path("os_hash_value").asText()).as("the idle guest's disk, as it was").isEqualTo(diskSha);
        assertThat(server(id).path("status").asText()).isEqualTo("ACTIVE");

        Api.Reply rebuilt = other.call("POST", "/compute/v2.1/servers/" + id + "/action",
                Map.of("rebuild", Map.of("imageRef", snapId, "name", "snap-rebuilt")));
        assertThat(rebuilt.status()).isEqualTo(202);
        assertThat(rebuilt.body().path("server").path("image").path("id").asText()).isEqualTo(snapId);
        assertThat(rebuilt.body().path("server").path("adminPass").asText()).isNotEmpty();
        JsonNode after = await(other, id, "ACTIVE");
        assertThat(after.path("name").asText()).isEqualTo("snap-rebuilt");
        assertThat(after.path("image").path("id").asText()).isEqualTo(snapId);
        assertThat(other.call("POST", "/compute/v2.1/servers/" + id + "/action",
                Map.of("rebuild", Map.of("imageRef", "no-such-image"))).status()).isEqualTo(400);
        assertThat(other.ok("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions", null)
                .path("instanceActions").findValuesAsText("action")).as("a refused rebuild is no action")
                .containsExactly("rebuild", "createImage", "create");

        // A server without a disk (its image is the kernel): the image fails, and goes.
        String diskless = other.ok("POST", "/compute/v2.1/servers", Api.server("nodisk", "t1", imageId))
                .path("server").path("id").asText();
        await(other, diskless, "ACTIVE");
        Api.Reply failed = other.call("POST", "/compute/v2.1/servers/" + diskless + "/action",
                Map.of("createImage", Map.of("name", "never")));
        assertThat(failed.status()).isEqualTo(202);
        String failedLocation = failed.raw().headers().firstValue("Location").orElseThrow();
        String failedId = failedLocation.substring(failedLocation.lastIndexOf('/') + 1);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (other.call("GET", "/compute/v2.1/images/" + failedId, null).status() != 404) {
            assertThat(System.nanoTime()).as("the failed image is deleted").isLessThan(deadline);
            Thread.sleep(200);
        }
        assertThat(await(other, diskless, "ACTIVE").path("OS-EXT-STS:task_state").isNull()).isTrue();

        other.ok("DELETE", "/compute/v2.1/images/" + snapId, null);
        assertThat(other.call("GET", "/compute/v2.1/images/" + snapId, null).status()).isEqualTo(404);
        other.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        other.ok("DELETE", "/compute/v2.1/servers/" + diskless, null);
        awaitGone(id);
        awaitGone(diskless);
    }

    private JsonNode awaitImage(Api api, String id, String status) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            JsonNode image = api.ok("GET", "/compute/v2.1/images/" + id, null).path("image");
            if (image.path("status").asText().equals(status)) {
                return image;
            }
            assertThat(image.path("status").asText()).isNotEqualTo("ERROR");
            assertThat(System.nanoTime()).as("image %s becomes %s", id, status).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    @Test
    void theQuotaOfAProjectIsEnforced() {
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("instances", 1)));
        String first = other.ok("POST", "/compute/v2.1/servers", Api.server("q1", "t1", imageId)).path("server")
                .path("id").asText();
        Api.Reply second = other.call("POST", "/compute/v2.1/servers", Api.server("q2", "t1", imageId));
        assertThat(second.status()).isEqualTo(403);
        assertThat(second.message()).startsWith("Quota exceeded for instances");
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("instances", 10,
                "metadata_items", 1)));
        Api.Reply meta = other.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "q3",
                "flavorRef", "t1", "imageRef", imageId, "metadata", Map.of("a", "1", "b", "2"))));
        assertThat(meta.status()).isEqualTo(403);
        assertThat(meta.message()).isEqualTo("Maximum number of metadata items exceeds 1");
        assertThat(other.ok("GET", "/compute/v2.1/limits", null).path("limits").path("absolute").path("maxServerMeta")
                .asInt()).isEqualTo(1);
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("instances", 1,
                "metadata_items", 128)));
        assertThat(other.ok("GET", "/compute/v2.1/servers", null).path("servers")).hasSize(1);
        assertThat(other.ok("GET", "/compute/v2.1/limits", null).path("limits").path("absolute")
                .path("totalInstancesUsed").asInt()).isEqualTo(1);
        await(other, first, "ACTIVE");
        // An upsize needs quota for what it adds.
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("cores", 1)));
        Api.Reply upsize = other.call("POST", "/compute/v2.1/servers/" + first + "/action", Map.of("resize",
                Map.of("flavorRef", "t2")));
        assertThat(upsize.status()).isEqualTo(403);
        assertThat(upsize.message()).startsWith("Quota exceeded for cores");
        other.ok("DELETE", "/compute/v2.1/servers/" + first, null);
        awaitGone(first);
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("instances", 10,
                "cores", 20)));
    }

    @Test
    void privateFlavorsServeOnlyTheProjectsTheyAreSharedWith() {
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "private", "id", "priv", "vcpus", 1,
                "ram", 32, "disk", 0, "os-flavor-access:is_public", false)));
        assertThat(other.call("GET", "/compute/v2.1/flavors/priv", null).status()).isEqualTo(404);
        Api.Reply refused = other.call("POST", "/compute/v2.1/servers", Api.server("p", "priv", imageId));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.message()).isEqualTo("Flavor priv could not be found.");
        assertThat(other.call("POST", "/compute/v2.1/flavors/priv/action", Map.of("addTenantAccess", Map.of(
                "tenant", otherProjectId))).status()).isEqualTo(403);
        assertThat(admin.ok("POST", "/compute/v2.1/flavors/priv/action", Map.of("addTenantAccess", Map.of(
                "tenant", otherProjectId))).path("flavor_access").findValuesAsText("tenant_id"))
                .containsExactly(otherProjectId);
        assertThat(other.ok("GET", "/compute/v2.1/flavors", null).path("flavors").findValuesAsText("id"))
                .contains("priv");
        admin.ok("POST", "/compute/v2.1/flavors/priv/action", Map.of("removeTenantAccess", Map.of(
                "tenant", otherProjectId)));
        assertThat(other.call("GET", "/compute/v2.1/flavors/priv", null).status()).isEqualTo(404);
        assertThat(admin.call("GET", "/compute/v2.1/flavors/1/os-flavor-access", null).status()).as("public")
                .isEqualTo(404);
        admin.ok("DELETE", "/compute/v2.1/flavors/priv", null);
    }

    @Test
    void aHostThatStopsReportingIsMarkedDownAndNotChosen() throws Exception {
        // A host that reported once, with room for a flavor no real agent here can take.
        // As the host's agent would: its certificate, and only its agent's rights.
        Properties p = cloud.agentBus("sim-gone").properties("it-simulated-host");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            Instant now = Instant.now();
            producer.send(new ProducerRecord<>(Topics.hostReports("sim-gone"), "sim-gone", HostReport.newBuilder().setHost("sim-gone")
                    .setEnabled(true).setReportedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()))
                    .setCapacity(Resources.newBuilder().setVcpus(64).setMemoryMib(1 << 20).setDiskGib(100))
                    .build().toByteArray())).get();
        }
        // Its report was taken (the service is listed); whether it is still seen up depends on how soon
        // the test looks: the cloud's hosts go down 4 s after their last report, and a loaded CI host
        // once took longer than that to show it.
        awaitService("sim-gone", svc -> true);
        awaitService("sim-gone", svc -> svc.path("state").asText().equals("down"));
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "big", "id", "big", "vcpus", 2,
                "ram", 16 * 1024, "disk", 0)));
        String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("nowhere", "big", imageId)).path("server")
                .path("id").asText();
        JsonNode s = await(id, "ERROR");
        assertThat(s.path("fault").path("message").asText()).startsWith("No valid host was found.")
                .contains("ComputeFilter removed 1 (sim-gone)");
        assertThat(s.path("fault").path("details").asText()).isEqualTo("NoValidHost");
        assertThat(used("sim-gone", "memory_mb_used")).isZero();
        // A tenant's server that no host takes: Nova's sentence, no host named, no details.
        String hers = other.ok("POST", "/compute/v2.1/servers", Api.server("nowhere-too", "big", imageId))
                .path("server").path("id").asText();
        await(hers, "ERROR");
        JsonNode fault = other.ok("GET", "/compute/v2.1/servers/" + hers, null).path("server").path("fault");
        assertThat(fault.path("message").asText())
                .isEqualTo("No valid host was found. There are not enough hosts available.");
        assertThat(fault.has("details")).isFalse();
        assertThat(fault.path("code").asInt()).isEqualTo(500);
        assertThat(other.ok("GET", "/compute/v2.1/servers/detail", null).toString()).doesNotContain("sim-gone")
                .doesNotContain("b-good").doesNotContain("a-bad");
        other.ok("DELETE", "/compute/v2.1/servers/" + hers, null);
        awaitGone(hers);
        admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        awaitGone(id);
    }

    private void switchHost(String host, boolean enabled) {
        admin.switchHost(host, enabled);
    }

    private void awaitService(String host, Predicate<JsonNode> condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            for (JsonNode svc : admin.ok("GET", "/compute/v2.1/os-services", null).path("services")) {
                if (svc.path("host").asText().equals(host)) {
                    last = svc;
                    if (condition.test(svc)) {
                        return;
                    }
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("service of " + host + " never got there; last " + last);
    }

    private long used(String host, String field) {
        for (JsonNode h : admin.ok("GET", "/compute/v2.1/os-hypervisors/detail", null).path("hypervisors")) {
            if (h.path("hypervisor_hostname").asText().equals(host)) {
                return h.path(field).asLong();
            }
        }
        throw new AssertionError("no hypervisor " + host);
    }

    private JsonNode server(String id) {
        return admin.ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
    }

    JsonNode await(String id, String status) {
        return await(admin, id, status);
    }

    private JsonNode await(Api api, String id, String status) {
        return api.awaitServer(id, status, WAIT);
    }

    void awaitGone(String id) {
        admin.awaitGone(id, WAIT);
    }

    private boolean awaitConsole(String id, String text) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Api.Reply r = admin.call("POST", "/compute/v2.1/servers/" + id + "/action",
                    Map.of("os-getConsoleOutput", Map.of("length", 50)));
            if (r.status() == 200 && r.body().path("output").asText().contains(text)) {
                return true;
            }
            Api.pause();
        }
        return false;
    }
}
