package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.database.Database;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStack;
import io.stratus.scheduler.volume.VolumeStatus;
import io.stratus.scheduler.volume.VolumeStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume's attach and detach as the control plane follows them: the records, the volume's
 * status and the NBD exports (real qemu-nbd on loopback), driven by the agents' answers.
 */
class VolumeEventsTest {
    private static final VolumeService.Asker ALICE = new VolumeService.Asker("p", "u", false, "t");

    @TempDir
    Path dir;
    private Database db;
    private VolumeStore volumes;
    private AttachmentStore attachments;
    private VolumeService service;
    private VolumeStack stack;
    private VolumeAttachments lives;
    private VolumeEvents events;

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "needs Debian's qemu-utils (qemu-nbd, qemu-img)");
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        stack = VolumeStack.open(db.dataSource(), Clock.systemUTC(), dir.resolve("pool"), 42809, 42899);
        volumes = stack.volumes();
        attachments = stack.attachmentRows();
        service = stack.service();
        lives = stack.attachments();
        events = new VolumeEvents(lives);
    }

    @AfterEach
    void tearDown() {
        if (stack != null) {
            stack.close();
            db.close();
        }
    }

    private Volume volume() {
        return service.create(ALICE, new VolumeService.Create(Optional.of(1), "v", null, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), false));
    }

    private static InstanceEvent answer(String server, String volume, boolean failed) {
        InstanceEvent.Builder e = InstanceEvent.newBuilder().setInstanceId(server).setVolumeId(volume)
                .setHost("host-1").setRequestId("req-1");
        if (failed) {
            e.setFault(Fault.newBuilder().setCode("VolumeAttachFailed").setMessage("no free disk slot"));
        }
        return e.build();
    }

    @Test
    void anAttachIsInUseOnceTheHostSaysSoAndADetachFreesItAndItsExport() {
        Volume v = volume();
        Attachment a = lives.reserve(v, "server-1", "/dev/vdb", false, false);
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.ATTACHING);
        VolumeAttachment sent = lives.export(a, "host-1");
        assertThat(sent.getNbdUri()).startsWith("nbd://127.0.0.1:").endsWith("/" + v.id());
        assertThat(sent.getSizeBytes()).isEqualTo(1L << 30);
        assertThat(stack.exports().serving(a.id())).isTrue();

        events.answered(answer("server-1", v.id(), false));
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.IN_USE);
        assertThat(attachments.get(a.id()).status()).isEqualTo(Attachment.ATTACHED);
        assertThat(attachments.get(a.id()).attachedAt()).isNotNull();
        assertThatThrownBy(() -> service.delete(volumes.get(v.id()))).isInstanceOf(VolumeException.class);
        assertThatThrownBy(() -> lives.reserve(volumes.get(v.id()), "server-2", "/dev/vdb", false, false))
                .as("not a multiattach type").hasMessageContaining("multiattach");

        lives.beginDetach("server-1", v.id());
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.DETACHING);
        events.answered(answer("server-1", v.id(), false));
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(attachments.find(a.id())).isEmpty();
        assertThat(stack.exports().serving(a.id())).isFalse();
        events.answered(answer("server-1", v.id(), false));
        assertThat(volumes.get(v.id()).status()).as("a repeated answer changes nothing")
                .isEqualTo(VolumeStatus.AVAILABLE);
    }

    @Test
    void aFailedAttachLeavesTheVolumeAvailableWithoutAttachmentOrExport() {
        Volume v = volume();
        Attachment a = lives.reserve(v, "server-1", "/dev/vdb", false, false);
        lives.export(a, "host-1");

        events.answered(answer("server-1", v.id(), true));

        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(attachments.ofVolume(v.id())).isEmpty();
        assertThat(stack.exports().serving(a.id())).isFalse();
    }

    @Test
    void aFailedDetachKeepsItAttached() {
        Volume v = volume();
        Attachment a = lives.reserve(v, "server-1", "/dev/vdb", false, false);
        lives.export(a, "host-1");
        events.answered(answer("server-1", v.id(), false));
        lives.beginDetach("server-1", v.id());

        events.answered(answer("server-1", v.id(), true));

        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.IN_USE);
        assertThat(attachments.get(a.id()).status()).isEqualTo(Attachment.ATTACHED);
        assertThat(stack.exports().serving(a.id())).isTrue();
    }

    @Test
    void aBootCarriesTheServersVolumesAndADeletedServerFreesOrDeletesThem() {
        Volume kept = volume();
        Volume doomed = volume();
        Attachment k = lives.reserve(kept, "server-1", "/dev/vdb", false, false);
        Attachment d = lives.reserve(doomed, "server-1", "/dev/vda", true, true);
        lives.export(k, "host-1");
        events.answered(answer("server-1", kept.id(), false));

        List<VolumeAttachment> boot = events.forBoot("server-1", "host-2");
        assertThat(boot).extracting(VolumeAttachment::getVolumeId).containsExactly(doomed.id(), kept.id());
        assertThat(boot.get(0).getBoot()).isTrue();
        assertThat(boot.get(1).getNbdUri()).as("the export that serves is kept: every host reaches it")
                .endsWith(":" + attachments.get(k.id()).nbdPort() + "/" + kept.id());
        assertThat(stack.exports().serving(d.id())).as("one without an export gets one").isTrue();
        assertThat(attachments.get(k.id()).host()).as("until the server runs there").isEqualTo("host-1");
        events.moved("server-1", "host-2");
        assertThat(attachments.get(k.id()).host()).isEqualTo("host-2");

        events.serverDeleted("server-1");

        assertThat(volumes.get(kept.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(volumes.find(doomed.id())).as("delete_on_termination").isEmpty();
        assertThat(attachments.ofServer("server-1")).isEmpty();
        assertThat(stack.exports().serving(k.id())).isFalse();
        assertThat(stack.exports().serving(d.id())).isFalse();
    }
}
