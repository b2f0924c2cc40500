package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.stratus.database.Database;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.Snapshot;
import io.stratus.scheduler.volume.SnapshotStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStack;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * createImage of a server booted from a volume, as Nova's {@code snapshot_volume_backed} does
 * it: each volume is snapshotted through the volume service (real qcow2 files, real schema), and
 * the image, made in the caller's project with no data (size 0, activated by an empty upload),
 * names the snapshots in its {@code block_device_mapping}. The image service is a small HTTP
 * server that records what it is sent.
 */
class VolumeBackedImageTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final VolumeService.Asker ALICE = new VolumeService.Asker("p1", "u1", false, "t");
    private static final Hypervisor QEMU = new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.ACCEL_TCG, Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));

    /** What the image service was sent: "METHOD path token" and the body's text. */
    private record Call(String what, String body) {
    }

    @TempDir
    Path dir;
    private VolumeStack stack;
    private SnapshotStore snapshots;
    private VolumeService service;
    private VolumeAttachments lives;
    private ConductorFixture f;
    private HttpServer imageService;
    private ImageActions actions;
    private final List<Call> calls = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "needs Debian's qemu-utils (qemu-nbd, qemu-img)");
        f = new ConductorFixture(this::volumeService);
        imageService = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        imageService.createContext("/image/v2/images", this::answer);
        imageService.start();
        ImageCatalog images = new ImageCatalog("http://127.0.0.1:" + imageService.getAddress().getPort() + "/image",
                () -> new ImageCatalog.Token("scheduler-token", Instant.now().plus(Duration.ofHours(1))), f.clock);
        actions = new ImageActions(f.servers, f.parts.commands(), images);
    }

    private void answer(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        calls.add(new Call(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                + exchange.getRequestHeaders().getFirst("X-Auth-Token"), body));
        if (exchange.getRequestMethod().equals("POST")) {
            byte[] out = "{\"id\": \"img-new\", \"status\": \"queued\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(201, out.length);
            try (OutputStream o = exchange.getResponseBody()) {
                o.write(out);
            }
        } else {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        }
    }

    private ServerVolumes volumeService(Database db) {
        stack = VolumeStack.open(db.dataSource(), Clock.systemUTC(), dir.resolve("pool"), 43909, 43999);
        snapshots = stack.snapshots();
        service = stack.service();
        lives = stack.attachments();
        return new VolumeEvents(lives);
    }

    @AfterEach
    void tearDown() {
        if (f != null) {
            imageService.stop(0);
            stack.close();
            f.close();
        }
    }

    private Volume attach(Server s, String name, String device, boolean boot) {
        Volume v = service.create(ALICE, new VolumeService.Create(Optional.of(1), name, "of " + name,
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                false));
        Attachment a = lives.reserve(v, s.id(), device, boot, boot);
        lives.export(a, "src");
        lives.attached(s.id(), v.id());
        return v;
    }

    @Test
    void snapshotsEachVolumeAndMakesAnImageOfNoDataThatNamesThemAsNovaDoes() throws IOException {
        f.host("src", 4096, 4, QEMU);
        Server s = f.server("src", InstanceState.ACTIVE, "", ConductorFixture.SMALL);
        Volume data = attach(s, "data", "/dev/vdb", false);
        Volume root = attach(s, "root", "/dev/vda", true);

        String image = actions.createVolumeBackedImage(s, "caller-token", "saved", Map.of("purpose", "test"),
                () -> lives.snapshotForImage(ALICE, s.id(), "saved"));

        assertThat(image).isEqualTo("img-new");
        assertThat(calls).extracting(Call::what).containsExactly("POST /image/v2/images caller-token",
                "PUT /image/v2/images/img-new/file scheduler-token");
        assertThat(calls.get(1).body()).as("no data: Nova's size 0, uploaded empty to activate it").isEmpty();
        JsonNode created = JSON.readTree(calls.get(0).body());
        assertThat(created.path("name").asText()).isEqualTo("saved");
        assertThat(created.path("disk_format").asText()).isEqualTo("qcow2");
        assertThat(created.path("container_format").asText()).isEqualTo("bare");
        assertThat(created.path("visibility").asText()).isEqualTo("private");
        assertThat(created.path("purpose").asText()).isEqualTo("test");
        assertThat(created.path("root_device_name").asText()).isEqualTo("/dev/vda");
        assertThat(created.path("bdm_v2").asText()).isEqualTo("True");
        JsonNode bdm = JSON.readTree(created.path("block_device_mapping").asText());
        assertThat(bdm).hasSize(2);
        JsonNode first = bdm.get(0);
        assertThat(first.path("source_type").asText()).isEqualTo("snapshot");
        assertThat(first.path("destination_type").asText()).isEqualTo("volume");
        assertThat(first.path("boot_index").asInt()).isZero();
        assertThat(first.path("device_name").asText()).isEqualTo("/dev/vda");
        assertThat(first.path("volume_size").asInt()).isEqualTo(1);
        assertThat(first.path("delete_on_termination").asBoolean()).isTrue();
        assertThat(first.has("volume_id") && first.get("volume_id").isNull()).as("Nova writes every field").isTrue();
        assertThat(bdm.get(1).path("boot_index").isNull()).isTrue();
        assertThat(bdm.get(1).path("device_name").asText()).isEqualTo("/dev/vdb");
        Snapshot rootSnapshot = snapshots.get(first.path("snapshot_id").asText());
        assertThat(rootSnapshot.volumeId()).isEqualTo(root.id());
        assertThat(rootSnapshot.name()).isEqualTo("snapshot for saved");
        assertThat(rootSnapshot.status()).isEqualTo(Snapshot.AVAILABLE);
        assertThat(snapshots.get(bdm.get(1).path("snapshot_id").asText()).volumeId()).isEqualTo(data.id());
        assertThat(f.now(s).taskState()).as("no host is involved").isEqualTo(TaskState.NONE);
    }

    @Test
    void aServerInTheMiddleOfATaskIsRefusedBeforeAnythingIsSnapshotted() {
        f.host("src", 4096, 4, QEMU);
        Server s = f.server("src", InstanceState.ACTIVE, "", ConductorFixture.SMALL);
        attach(s, "root", "/dev/vda", true);
        f.servers.startTask(s.id(), "req-busy", TaskState.REBOOTING, InstanceState.ACTIVE);

        assertThatThrownBy(() -> actions.createVolumeBackedImage(f.now(s), "caller-token", "saved", Map.of(),
                () -> lives.snapshotForImage(ALICE, s.id(), "saved"))).isInstanceOf(InstanceInvalidState.class);

        assertThat(calls).isEmpty();
        assertThat(snapshots.usage("p1")[0]).isZero();
    }
}
