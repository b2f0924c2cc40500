package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.database.Database;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Server metadata on the embedded database: Nova's replace, merge and item calls, and their refusals. */
class ServerMetadataResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Database db;
    private ServerStore servers;
    private ServerMetadataStore store;
    private QuotaStore quotas;

    @BeforeEach
    void start() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        servers = new ServerStore(db.dataSource(), Clock.systemUTC());
        store = new ServerMetadataStore(db.dataSource());
        quotas = new QuotaStore(db.dataSource(), Map.of("metadata_items", 128L));
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private String server(String project, InstanceState state, TaskState task) {
        String id = UUID.randomUUID().toString();
        Instant now = Instant.now();
        servers.insert(new Server(id, "vm", project, "u1", "m1", Optional.empty(), 1, 64, 1, "img", "",
                Optional.empty(), state, task, Optional.of("h1"), "req-0", now, List.of(), 1, 0, Optional.empty(),
                Optional.empty(), now, now, Optional.empty(), PowerState.POWER_STATE_UNSPECIFIED, Optional.empty(),
                Optional.empty(), "", "", Server.Launch.plain("vm", "r-1")));
        return id;
    }

    private ServerMetadataResource as(String project) {
        ServerMetadataResource api = new ServerMetadataResource();
        api.servers = servers;
        api.metadata = store;
        api.quotas = quotas;
        api.request = FakeRequest.of("/compute/v2.1/servers", "u1", project, false).context();
        return api;
    }

    private static JsonNode body(Object o) {
        return JSON.valueToTree(o);
    }

    private static JsonNode tree(Object o) {
        return JSON.valueToTree(o);
    }

    @Test
    void replaceMergeAndItemsAsNova() {
        String id = server("p1", InstanceState.ACTIVE, TaskState.NONE);
        ServerMetadataResource api = as("p1");
        assertThat(tree(api.list(id)).path("metadata")).isEmpty();
        assertThat(tree(api.replace(id, body(Map.of("metadata", Map.of("key1", "value1", "key2", "value2"))))))
                .isEqualTo(tree(Map.of("metadata", Map.of("key1", "value1", "key2", "value2"))));
        // POST merges and answers the whole metadata; an empty merge keeps it.
        assertThat(tree(api.merge(id, body(Map.of("metadata", Map.of("key1", "alt1", "key3", "value3"))))))
                .isEqualTo(tree(Map.of("metadata", Map.of("key1", "alt1", "key2", "value2", "key3", "value3"))));
        assertThat(tree(api.merge(id, body(Map.of("metadata", Map.of())))).path("metadata")).hasSize(3);
        // PUT replaces.
        api.replace(id, body(Map.of("metadata", Map.of("meta2", "data2", "meta3", "data3"))));
        assertThat(tree(api.list(id))).isEqualTo(tree(Map.of("metadata", Map.of("meta2", "data2", "meta3", "data3"))));
        assertThat(tree(api.show(id, "meta2"))).isEqualTo(tree(Map.of("meta", Map.of("meta2", "data2"))));
        assertThat(tree(api.set(id, "nova", body(Map.of("meta", Map.of("nova", "alt"))))))
                .isEqualTo(tree(Map.of("meta", Map.of("nova", "alt"))));
        assertThat(api.delete(id, "meta2").getStatus()).isEqualTo(204);
        assertThat(tree(api.list(id))).isEqualTo(tree(Map.of("metadata", Map.of("meta3", "data3", "nova", "alt"))));
        assertThat(store.of(List.of(id, "other"))).containsOnlyKeys(id);
    }

    @Test
    void badInputIsRefusedAndChangesNothing() {
        String id = server("p1", InstanceState.SHUTOFF, TaskState.NONE);
        ServerMetadataResource api = as("p1");
        api.replace(id, body(Map.of("metadata", Map.of("a", "b"))));
        for (Object bad : List.of(Map.of("metadata", Map.of("a", "b".repeat(256))),
                Map.of("metadata", Map.of("k".repeat(256), "v")), Map.of("metadata", Map.of("", "v")),
                Map.of("metadata", Map.of("bad/key", "v")), Map.of("metadata", Map.of("n", 1)),
                Map.of("metadata", "text"), Map.of("meta", Map.of("a", "c")), Map.of(),
                Map.of("metadata", Map.of("a", "c"), "extra", 1))) {
            assertThat(refused(() -> api.replace(id, body(bad))).status()).as("PUT %s", bad).isEqualTo(400);
            assertThat(refused(() -> api.merge(id, body(bad))).status()).as("POST %s", bad).isEqualTo(400);
        }
        assertThat(refused(() -> api.set(id, "a", body(Map.of("meta", Map.of("b", "c"))))))
                .hasMessage("Request body and URI mismatch");
        assertThat(refused(() -> api.set(id, "a", body(Map.of("meta", Map.of("a", "c", "b", "d"))))).status())
                .isEqualTo(400);
        assertThat(refused(() -> api.set(id, "a", body(Map.of("meta", Map.of())))).status()).isEqualTo(400);
        assertThat(refused(() -> api.set(id, "a", body(Map.of("metadata", Map.of("a", "c"))))).status())
                .isEqualTo(400);
        assertThat(tree(api.list(id))).isEqualTo(tree(Map.of("metadata", Map.of("a", "b"))));

        assertThat(refused(() -> api.show(id, "nope"))).hasMessage("Metadata item was not found");
        assertThat(refused(() -> api.delete(id, "nope")).status()).isEqualTo(404);
        assertThat(refused(() -> api.list("no-such-server")).status()).isEqualTo(404);
        // Another project's server does not exist for the caller.
        assertThat(refused(() -> as("p2").list(id)).status()).isEqualTo(404);
        assertThat(refused(() -> as("p2").replace(id, body(Map.of("metadata", Map.of())))).status())
                .isEqualTo(404);
    }

    @Test
    void moreItemsThanTheQuotaAre403() {
        quotas.set("p1", "metadata_items", 2);
        String id = server("p1", InstanceState.ACTIVE, TaskState.NONE);
        ServerMetadataResource api = as("p1");
        api.replace(id, body(Map.of("metadata", Map.of("a", "1", "b", "2"))));
        assertThat(refused(() -> api.merge(id, body(Map.of("metadata", Map.of("c", "3"))))))
                .hasMessage("Maximum number of metadata items exceeds 2");
        assertThat(refused(() -> api.set(id, "c", body(Map.of("meta", Map.of("c", "3"))))).status()).isEqualTo(403);
        assertThat(refused(() -> api.replace(id, body(Map.of("metadata", Map.of("x", "1", "y", "2", "z", "3")))))
                .status()).isEqualTo(403);
        assertThat(tree(api.list(id))).isEqualTo(tree(Map.of("metadata", Map.of("a", "1", "b", "2"))));
        // Changing an item it has is no new item.
        api.merge(id, body(Map.of("metadata", Map.of("a", "one"))));
        assertThat(tree(api.show(id, "a")).path("meta").path("a").asText()).isEqualTo("one");
    }

    @Test
    void aServerBusyOrNotAtRestKeepsItsMetadata() {
        ServerMetadataResource api = as("p1");
        String building = server("p1", InstanceState.BUILD, TaskState.SPAWNING);
        assertThat(refused(() -> api.merge(building, body(Map.of("metadata", Map.of("a", "b"))))))
                .hasMessage("Cannot 'update metadata' instance " + building + " while it is in vm_state building")
                .satisfies(e -> assertThat(((ApiException) e).status()).isEqualTo(409));
        String rebooting = server("p1", InstanceState.ACTIVE, TaskState.REBOOTING);
        assertThat(refused(() -> api.replace(rebooting, body(Map.of("metadata", Map.of("a", "b"))))))
                .hasMessage("Cannot 'update metadata' instance " + rebooting + " while it is in task_state rebooting");
        String failed = server("p1", InstanceState.ERROR, TaskState.NONE);
        store.replace(failed, Map.of("a", "b"));
        assertThat(refused(() -> api.delete(failed, "a"))).hasMessageStartingWith("Cannot 'delete metadata'");
        assertThat(tree(api.show(failed, "a")).path("meta").path("a").asText()).as("reading is fine").isEqualTo("b");
        String paused = server("p1", InstanceState.PAUSED, TaskState.NONE);
        assertThat(tree(api.merge(paused, body(Map.of("metadata", Map.of("a", "b"))))).path("metadata")).hasSize(1);
    }

    private static ApiException refused(Runnable call) {
        ApiException e = catchThrowableOfType(call::run, ApiException.class);
        assertThat(e).as("refused").isNotNull();
        return e;
    }
}
