package io.stratus.scheduler.api.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.auth.Caller;
import io.stratus.database.Database;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStack;
import io.stratus.scheduler.volume.VolumeStatus;
import io.stratus.scheduler.volume.VolumeStore;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cinder's v3 attachments API at its edge, on the real schema (H2) and real exports (qemu-nbd on
 * loopback): a reservation, its connector, its completion and its deletion move the attachment
 * and the volume through Cinder's statuses; the API is not there below 3.27 ({@code os-complete}
 * below 3.44); another project sees none of it; the Compute API's attachments are the same rows.
 */
class AttachmentsResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Database db;
    private VolumeStack stack;
    private VolumeStore volumes;
    private AttachmentStore attachments;
    private VolumeService service;
    private VolumeAttachments lives;
    private ServerStore servers;

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "needs Debian's qemu-utils (qemu-nbd, qemu-img)");
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        Clock clock = Clock.systemUTC();
        stack = VolumeStack.open(db.dataSource(), clock, dir.resolve("pool"), 44809, 44899);
        volumes = stack.volumes();
        attachments = stack.attachmentRows();
        service = stack.service();
        lives = stack.attachments();
        servers = new ServerStore(db.dataSource(), clock);
    }

    @AfterEach
    void tearDown() {
        if (db != null) {
            stack.close();
            db.close();
        }
    }

    private Volume volume(String project) {
        return service.create(new VolumeService.Asker(project, "u-" + project, false, "t"),
                new VolumeService.Create(Optional.of(1), "data", null, Optional.empty(), Optional.empty(),
                        Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), false));
    }

    /** The resource as a request of {@code project} at {@code version} ({@code query} for lists) meets it. */
    private AttachmentsResource api(String project, boolean admin, String version, String query) {
        AttachmentsResource r = new AttachmentsResource();
        r.lives = lives;
        r.attachments = attachments;
        r.volumes = volumes;
        r.service = service;
        r.servers = servers;
        r.request = request(project, admin, version);
        r.uri = uri(query);
        new VolumeMicroversion().filter(r.request);
        return r;
    }

    private AttachmentsResource alice(String version) {
        return api("p-alice", false, version, "");
    }

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> attachment(Map<String, Object> answer) {
        return (Map<String, Object>) answer.get("attachment");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> listed(Map<String, Object> answer) {
        return (List<Map<String, Object>>) answer.get("attachments");
    }

    @Test
    void aReservationGetsItsConnectorThenCompletesAndItsDeleteFreesTheVolume() throws Exception {
        Volume v = volume("p-alice");

        // As cinderclient sends it without a connector: an empty one.
        Map<String, Object> reserved = attachment(alice("3.44").create(json("{\"attachment\": {\"volume_uuid\": \""
                + v.id() + "\", \"instance_uuid\": \"srv-1\", \"connector\": {}}}")));
        String id = (String) reserved.get("id");
        assertThat(reserved).containsEntry("status", "reserved").containsEntry("instance", "srv-1")
                .containsEntry("volume_id", v.id()).containsEntry("attach_mode", "rw")
                .containsEntry("connection_info", Map.of()).containsEntry("attached_at", "");
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.RESERVED);

        Map<String, Object> connected = attachment(alice("3.44").update(id, json("{\"attachment\": {\"connector\":"
                + " {\"host\": \"host-1\", \"mountpoint\": \"/dev/vdb\", \"initiator\": \"iqn\"}}}")));
        assertThat(connected).containsEntry("status", "attaching");
        @SuppressWarnings("unchecked")
        Map<String, Object> info = (Map<String, Object>) connected.get("connection_info");
        assertThat(info).containsEntry("driver_volume_type", "nbd").containsEntry("host", "host-1");
        @SuppressWarnings("unchecked")
        Map<String, Object> data = (Map<String, Object>) info.get("data");
        int port = (Integer) data.get("port");
        assertThat(data).containsEntry("uri", "nbd://127.0.0.1:" + port + "/" + v.id())
                .containsEntry("export_name", v.id()).containsEntry("access_mode", "rw");
        assertThat(stack.exports().serving(id)).isTrue();
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.ATTACHING);
        assertThat(attachments.get(id).device()).isEqualTo("/dev/vdb");

        Response done = alice("3.44").action(id, json("{\"os-complete\": null}"));
        assertThat(done.getStatus()).isEqualTo(204);
        assertThat(attachment(alice("3.27").show(id))).containsEntry("status", "attached")
                .extractingByKey("attached_at").asString().isNotEmpty();
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.IN_USE);

        assertThat(listed(alice("3.27").delete(id))).as("no other attachment of the volume").isEmpty();
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(stack.exports().serving(id)).isFalse();
        assertThatThrownBy(() -> alice("3.27").show(id)).isInstanceOf(VolumeException.class)
                .hasMessageContaining("could not be found");
    }

    @Test
    void aConnectorAtCreateExportsAtOnceAndListsFilterByVolumeAndStatus() throws Exception {
        Volume v = volume("p-alice");
        Volume other = volume("p-alice");
        Map<String, Object> made = attachment(alice("3.27").create(json("{\"attachment\": {\"volume_uuid\": \""
                + v.id() + "\", \"instance_uuid\": \"srv-1\", \"connector\": {\"host\": \"host-2\"}}}")));
        alice("3.27").create(json("{\"attachment\": {\"volume_uuid\": \"" + other.id()
                + "\", \"instance_uuid\": \"srv-2\"}}"));

        assertThat(made).containsEntry("status", "attaching");
        assertThat(listed(api("p-alice", false, "3.27", "").list())).hasSize(2)
                .allSatisfy(a -> assertThat(a).containsOnlyKeys("id", "status", "instance", "volume_id"));
        assertThat(listed(api("p-alice", false, "3.27", "volume_id=" + v.id()).detail()))
                .singleElement().satisfies(a -> assertThat(a).containsEntry("id", made.get("id"))
                        .containsKey("connection_info").doesNotContainKey("created_at"));
        assertThat(listed(api("p-alice", false, "3.27", "status=reserved").list())).singleElement()
                .satisfies(a -> assertThat(a).containsEntry("instance", "srv-2"));
        assertThat(listed(api("p-alice", false, "3.27", "instance_id=srv-1").list())).hasSize(1);
        assertThatThrownBy(() -> alice("3.27").create(json("{\"attachment\": {\"volume_uuid\": \"" + v.id()
                + "\", \"instance_uuid\": \"srv-3\"}}"))).as("not a multiattach volume")
                .isInstanceOf(VolumeException.class).hasMessageContaining("status must be");
    }

    @Test
    void belowItsMicroversionsTheApiIsNotThere() throws Exception {
        Volume v = volume("p-alice");

        assertThatThrownBy(() -> alice("3.0").list()).isInstanceOf(VolumeException.class)
                .satisfies(e -> assertThat(((VolumeException) e).kind()).isEqualTo(VolumeException.Kind.NOT_FOUND));
        assertThatThrownBy(() -> alice("3.26").create(json("{\"attachment\": {\"volume_uuid\": \"" + v.id()
                + "\", \"instance_uuid\": \"srv-1\"}}"))).hasMessageContaining("3.27");
        String id = (String) attachment(alice("latest").create(json("{\"attachment\": {\"volume_uuid\": \""
                + v.id() + "\", \"instance_uuid\": \"srv-1\"}}"))).get("id");
        assertThatThrownBy(() -> alice("3.43").action(id, json("{\"os-complete\": null}")))
                .hasMessageContaining("3.44");
        assertThat(attachments.get(id).status()).isEqualTo(Attachment.RESERVED);
    }

    @Test
    void anotherProjectSeesNoneOfItAndAnAdminSeesAllWithAllTenants() throws Exception {
        Volume v = volume("p-alice");
        String id = (String) attachment(alice("3.27").create(json("{\"attachment\": {\"volume_uuid\": \"" + v.id()
                + "\", \"instance_uuid\": \"srv-1\"}}"))).get("id");

        AttachmentsResource bob = api("p-bob", false, "3.27", "");
        assertThat(listed(bob.list())).isEmpty();
        assertThatThrownBy(() -> bob.show(id)).hasMessageContaining("could not be found");
        assertThatThrownBy(() -> bob.delete(id)).hasMessageContaining("could not be found");
        assertThatThrownBy(() -> bob.create(json("{\"attachment\": {\"volume_uuid\": \"" + v.id()
                + "\", \"instance_uuid\": \"srv-9\"}}"))).hasMessageContaining("could not be found");
        assertThat(listed(api("p-admin", true, "3.27", "").list())).as("an admin's own project").isEmpty();
        assertThat(listed(api("p-admin", true, "3.27", "all_tenants=1").list())).extracting(a -> a.get("id"))
                .containsExactly(id);
    }

    @Test
    void theComputeApisAttachmentIsTheSameRowAndItsDeleteHereIsRefusedWhileTheServerHasIt() {
        Volume v = volume("p-alice");
        Server s = server("p-alice");
        Attachment a = lives.reserve(v, s.id(), "/dev/vdb", false, false);
        lives.export(a, "host-1");
        lives.attached(s.id(), v.id());

        Map<String, Object> shown = attachment(alice("3.27").show(a.id()));
        assertThat(shown).containsEntry("status", "attached").containsEntry("instance", s.id());
        assertThat(shown.get("connection_info").toString()).contains("nbd://127.0.0.1:");
        assertThatThrownBy(() -> alice("3.27").delete(a.id())).isInstanceOf(VolumeException.class)
                .hasMessageContaining("using the Compute API")
                .satisfies(e -> assertThat(((VolumeException) e).kind()).isEqualTo(VolumeException.Kind.CONFLICT));
        assertThat(stack.exports().serving(a.id())).isTrue();
    }

    private Server server(String project) {
        Instant now = Instant.now();
        Server s = new Server("s-" + UUID.randomUUID(), "vm", project, "u1", "m1", Optional.empty(), 1, 512, 0,
                "img", "", Optional.empty(), InstanceState.ACTIVE, TaskState.NONE, Optional.of("host-1"), "req-0", now,
                List.of("host-1"), 1, 0, Optional.empty(), Optional.empty(), now, now, Optional.empty(),
                PowerState.POWER_RUNNING, Optional.empty(), Optional.empty(), "", "", Server.Launch.plain("vm", "r-1"));
        servers.insert(s);
        return s;
    }

    /** A request of {@code project} for the attachments, asking for {@code version}; the token filter's caller attached. */
    private static ContainerRequestContext request(String project, boolean admin, String version) {
        Map<String, Object> properties = new HashMap<>();
        Instant now = Instant.now();
        properties.put("stratus.caller", new Caller("u-" + project, "user", project, project + "-name",
                admin ? Set.of(Caller.ADMIN) : Set.of(Caller.MEMBER), now, now.plus(Duration.ofHours(1))));
        UriInfo path = (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(), new Class<?>[] {UriInfo.class},
                (p, m, args) -> {
                    if (m.getName().equals("getPath")) {
                        return "/volume/v3/attachments";
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
        return (ContainerRequestContext) Proxy.newProxyInstance(ContainerRequestContext.class.getClassLoader(),
                new Class<?>[] {ContainerRequestContext.class}, (p, m, args) -> switch (m.getName()) {
                    case "getProperty" -> properties.get((String) args[0]);
                    case "setProperty" -> properties.put((String) args[0], args[1]);
                    case "getUriInfo" -> path;
                    case "getHeaderString" -> args[0].equals(VolumeMicroversion.HEADER) ? "volume " + version
                            : null;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private static UriInfo uri(String query) {
        MultivaluedMap<String, String> q = new MultivaluedHashMap<>();
        for (String pair : query.isEmpty() ? new String[0] : query.split("&")) {
            String[] kv = pair.split("=", 2);
            q.add(kv[0], kv[1]);
        }
        return (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(), new Class<?>[] {UriInfo.class},
                (p, m, args) -> switch (m.getName()) {
                    case "getQueryParameters" -> q;
                    case "getRequestUriBuilder" -> UriBuilder.fromUri(URI.create("http://x/volume/v3/attachments?"
                            + query));
                    case "getPath" -> "/volume/v3/attachments";
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }
}
