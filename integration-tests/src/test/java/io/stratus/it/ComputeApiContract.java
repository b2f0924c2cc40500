package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Timestamp;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
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
        other.ok("DELETE", "/compute/v2.1/servers/" + first, null);
        awaitGone(first);
        admin.ok("PUT", "/compute/v2.1/os-quota-sets/" + otherProjectId, Map.of("quota_set", Map.of("instances", 10)));
    }

    @Test
    void aHostThatStopsReportingIsMarkedDownAndNotChosen() throws Exception {
        // A host that reported once, with room for a flavor no real agent here can take.
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cloud.bootstrapServers());
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            Instant now = Instant.now();
            producer.send(new ProducerRecord<>("stratus.hosts", "sim-gone", HostReport.newBuilder().setHost("sim-gone")
                    .setEnabled(true).setReportedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()))
                    .setCapacity(Resources.newBuilder().setVcpus(64).setMemoryMib(1 << 20).setDiskGib(100))
                    .build().toByteArray())).get();
        }
        awaitService("sim-gone", svc -> svc.path("state").asText().equals("up"));
        awaitService("sim-gone", svc -> svc.path("state").asText().equals("down"));
        admin.ok("POST", "/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "big", "id", "big", "vcpus", 2,
                "ram", 16 * 1024, "disk", 0)));
        String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("nowhere", "big", imageId)).path("server")
                .path("id").asText();
        JsonNode s = await(id, "ERROR");
        assertThat(s.path("fault").path("message").asText()).startsWith("No valid host was found.")
                .contains("ComputeFilter removed 1 (sim-gone)");
        assertThat(used("sim-gone", "memory_mb_used")).isZero();
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
