package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.database.Database;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.keypairs.KeypairStore;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** os-keypairs on the embedded database: Nova's answers at 2.1 and 2.2, per user, and every refusal. */
class KeypairsResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIwFPWnUBqUCg8mEh+d2NF6HNPxw0mSdKED9DWfzcP9c"
            + " root@vm";

    private Database db;
    private KeypairStore store;
    private QuotaStore quotas;

    @BeforeEach
    void start() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        store = new KeypairStore(db.dataSource(), Clock.systemUTC());
        quotas = new QuotaStore(db.dataSource(), Map.of("key_pairs", 100L));
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private KeypairsResource as(String user, String project, Microversion v) {
        KeypairsResource api = new KeypairsResource();
        api.keypairs = store;
        api.quotas = quotas;
        api.request = FakeRequest.of("/compute/v2.1/os-keypairs", user, project, false).at(v).context();
        return api;
    }

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }

    private static JsonNode entity(Response r) {
        return JSON.valueToTree(r.getEntity());
    }

    @Test
    void atTwoOneAKeyIsGeneratedOrImportedWithoutATypeAndAnswers200And202() throws Exception {
        KeypairsResource api = as("u1", "p1", Microversion.MIN);
        Response made = api.create(body("{\"keypair\": {\"name\": \"gen-1\"}}"));
        assertThat(made.getStatus()).isEqualTo(200);
        JsonNode k = entity(made).path("keypair");
        assertThat(k.path("private_key").asText()).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(k.path("public_key").asText()).startsWith("ssh-rsa ");
        assertThat(k.path("user_id").asText()).isEqualTo("u1");
        assertThat(k.has("type")).isFalse();

        Response imported = api.create(body("{\"keypair\": {\"name\": \"imp 2\", \"public_key\": \"" + KEY + "\"}}"));
        assertThat(imported.getStatus()).isEqualTo(200);
        JsonNode i = entity(imported).path("keypair");
        assertThat(i.has("private_key")).isFalse();
        assertThat(i.path("fingerprint").asText()).isEqualTo("f2:9d:a7:e7:9a:e2:28:8f:59:82:6b:d9:17:4f:dd:60");

        JsonNode list = JSON.valueToTree(api.list()).path("keypairs");
        assertThat(list.findValuesAsText("name")).containsExactly("gen-1", "imp 2");
        assertThat(list.get(0).path("keypair").has("type")).isFalse();
        JsonNode shown = JSON.valueToTree(api.show("imp 2")).path("keypair");
        assertThat(shown.path("public_key").asText()).isEqualTo(KEY);
        assertThat(shown.path("id").isIntegralNumber()).isTrue();
        assertThat(shown.path("deleted").asBoolean(true)).isFalse();
        assertThat(shown.has("type")).isFalse();
        assertThat(api.delete("gen-1").getStatus()).isEqualTo(202);
        assertThat(JSON.valueToTree(api.list()).path("keypairs").findValuesAsText("name")).containsExactly("imp 2");
    }

    @Test
    void fromTwoTwoKeypairsHaveATypeAndAnswer201And204() throws Exception {
        KeypairsResource api = as("u1", "p1", new Microversion(2, 2));
        Response ssh = api.create(body("{\"keypair\": {\"name\": \"k\"}}"));
        assertThat(ssh.getStatus()).isEqualTo(201);
        assertThat(entity(ssh).path("keypair").path("type").asText()).isEqualTo("ssh");
        Response x509 = api.create(body("{\"keypair\": {\"name\": \"w\", \"type\": \"x509\"}}"));
        assertThat(x509.getStatus()).isEqualTo(201);
        JsonNode w = entity(x509).path("keypair");
        assertThat(w.path("type").asText()).isEqualTo("x509");
        assertThat(w.path("public_key").asText()).startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(w.path("fingerprint").asText()).matches("([0-9a-f]{2}:){19}[0-9a-f]{2}");
        assertThat(JSON.valueToTree(api.show("w")).path("keypair").path("type").asText()).isEqualTo("x509");
        assertThat(JSON.valueToTree(api.list()).path("keypairs").findValuesAsText("type")).containsExactly("ssh", "x509");
        // An imported certificate.
        String pem = w.path("public_key").asText();
        Response imported = api.create(JSON.valueToTree(Map.of("keypair", Map.of("name", "w2", "type", "x509",
                "public_key", pem))));
        assertThat(entity(imported).path("keypair").path("fingerprint").asText()).isEqualTo(w.path("fingerprint").asText());
        assertThat(api.delete("w").getStatus()).isEqualTo(204);
    }

    @Test
    void keypairsAreTheirUsersOwn() throws Exception {
        as("u1", "p1", Microversion.MIN).create(body("{\"keypair\": {\"name\": \"mine\"}}"));
        KeypairsResource other = as("u2", "p1", Microversion.MIN);
        assertThat(JSON.valueToTree(other.list()).path("keypairs")).isEmpty();
        refused(404, () -> other.show("mine"));
        refused(404, () -> other.delete("mine"));
        // The same name is another user's own keypair.
        assertThat(other.create(body("{\"keypair\": {\"name\": \"mine\"}}")).getStatus()).isEqualTo(200);
        assertThat(JSON.valueToTree(as("u1", "p2", Microversion.MIN).list()).path("keypairs")).hasSize(1);
    }

    @Test
    void badInputIsRefusedAndChangesNothing() throws Exception {
        KeypairsResource v21 = as("u1", "p1", Microversion.MIN);
        KeypairsResource v22 = as("u1", "p1", new Microversion(2, 2));
        for (String bad : List.of("{}", "{\"keypair\": \"k\"}", "{\"keypair\": {}}", "{\"keypair\": {\"name\": \"\"}}",
                "{\"keypair\": {\"name\": 7}}", "{\"keypair\": {\"name\": \"" + "k".repeat(256) + "\"}}",
                "{\"keypair\": {\"name\": \"key_/.\\\\@:\"}}", "{\"keypair\": {\"name\": \" k\"}}",
                "{\"keypair\": {\"name\": \"k\", \"public_key\": \"ssh-rsa JUNK nova@ubuntu\"}}",
                "{\"keypair\": {\"name\": \"k\", \"public_key\": \" \"}}",
                "{\"keypair\": {\"name\": \"k\", \"public_key\": null}}",
                "{\"keypair\": {\"name\": \"k\", \"type\": \"ssh\"}}", // no type before 2.2
                "{\"keypair\": {\"name\": \"k\", \"user_id\": \"u2\"}}", // no user_id before 2.10
                "{\"keypair\": {\"name\": \"k\"}, \"extra\": 1}")) {
            refused(400, () -> v21.create(body(bad)));
        }
        for (String bad : List.of("{\"keypair\": {\"name\": \"k\", \"type\": \"rsa\"}}",
                "{\"keypair\": {\"name\": \"k\", \"type\": \"x509\", \"public_key\": \"" + KEY + "\"}}",
                "{\"keypair\": {\"name\": \"k\", \"type\": \"ssh\", \"public_key\": \"-----BEGIN CERTIFICATE-----\"}}")) {
            refused(400, () -> v22.create(body(bad)));
        }
        assertThat(JSON.valueToTree(v21.list()).path("keypairs")).isEmpty();

        v21.create(body("{\"keypair\": {\"name\": \"dup\"}}"));
        ApiException dup = refused(409, () -> v21.create(body("{\"keypair\": {\"name\": \"dup\", \"public_key\": \""
                + KEY + "\"}}")));
        assertThat(dup).hasMessage("Key pair 'dup' already exists.");
        refused(404, () -> v21.delete("nope"));
        assertThat(refused(404, () -> v21.show("nope"))).hasMessage("Keypair nope not found for user u1");
    }

    @Test
    void aUsersKeypairsCountAgainstItsProjectsQuota() throws Exception {
        quotas.set("p1", "key_pairs", 2);
        KeypairsResource api = as("u1", "p1", Microversion.MIN);
        api.create(body("{\"keypair\": {\"name\": \"a\"}}"));
        api.create(body("{\"keypair\": {\"name\": \"b\", \"public_key\": \"" + KEY + "\"}}"));
        assertThat(refused(403, () -> api.create(body("{\"keypair\": {\"name\": \"c\"}}"))))
                .hasMessage("Quota exceeded, too many key pairs.");
        refused(403, () -> api.create(body("{\"keypair\": {\"name\": \"c\", \"public_key\": \"" + KEY + "\"}}")));
        assertThat(JSON.valueToTree(api.list()).path("keypairs")).hasSize(2);
        api.delete("a");
        assertThat(api.create(body("{\"keypair\": {\"name\": \"c\"}}")).getStatus()).isEqualTo(200);
    }

    private static ApiException refused(int status, ThrowableAssert.ThrowingCallable call) {
        Throwable[] caught = new Throwable[1];
        assertThatThrownBy(() -> {
            try {
                call.call();
            } catch (Throwable t) {
                caught[0] = t;
                throw t;
            }
        }).isInstanceOf(ApiException.class);
        ApiException e = (ApiException) caught[0];
        assertThat(e.status()).as(e.getMessage()).isEqualTo(status);
        return e;
    }
}
