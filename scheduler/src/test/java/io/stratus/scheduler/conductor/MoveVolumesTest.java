package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.database.Database;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resize;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.NbdExports;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStack;
import io.stratus.scheduler.volume.VolumeStatus;
import io.stratus.scheduler.volume.VolumeStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Moves of a server with a volume, as the control plane drives them (Nova: the attachment moves,
 * the data stays on the shared export): the target boots with the same export, the source keeps
 * reading it until the move ends, a move that arrives makes the attachment the target's, and a
 * move rolled back or reverted leaves the volume where it was, its export serving. Real qemu-nbd
 * exports on loopback and the real schema (H2); the hosts' events are played.
 */
class MoveVolumesTest {
    private static final VolumeService.Asker ALICE = new VolumeService.Asker("p1", "u1", false, "t");
    private static final Hypervisor QEMU = new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.ACCEL_TCG, Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION,
            Hypervisor.LIVE_MIGRATION_VOLUMES));

    /** Flavors whose disk no host has (10 GiB each): a server booted from a volume takes none of it. */
    private static final Flavor DISKY = new Flavor("m3", "m3.disky", 1, 512, 20, true);
    private static final Flavor DISKIER = new Flavor("m4", "m4.disky", 2, 1024, 40, true);

    @TempDir
    Path dir;
    private VolumeStack stack;
    private NbdExports exports;
    private VolumeStore volumes;
    private AttachmentStore attachments;
    private VolumeService service;
    private VolumeAttachments lives;
    private ConductorFixture f;

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "needs Debian's qemu-utils (qemu-nbd, qemu-img)");
        f = new ConductorFixture(this::volumeService);
    }

    private ServerVolumes volumeService(Database db) {
        stack = VolumeStack.open(db.dataSource(), Clock.systemUTC(), dir.resolve("pool"), 43809, 43899);
        volumes = stack.volumes();
        attachments = stack.attachmentRows();
        service = stack.service();
        exports = stack.exports();
        lives = stack.attachments();
        return new VolumeEvents(lives);
    }

    @AfterEach
    void tearDown() {
        if (f != null) {
            stack.close();
            f.close();
        }
    }

    /** An ACTIVE server on "src" (hosts of {@code driver}) with a volume attached and in use there. */
    private Server serverWithVolume(Hypervisor driver) {
        f.host("src", 4096, 4, driver);
        f.host("dst", 8192, 4, driver);
        Server s = f.server("src", InstanceState.ACTIVE);
        Volume v = service.create(ALICE, new VolumeService.Create(Optional.of(1), "data", null, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), false));
        Attachment a = lives.reserve(v, s.id(), "/dev/vdb", false, false);
        lives.export(a, "src");
        lives.attached(s.id(), v.id());
        return s;
    }

    /**
     * An ACTIVE server booted from a 1 GiB root volume on "src" (qemu hosts of 10 GiB disk), its
     * flavor's disk (20 GiB) more than any host has: only a claim without it fits, as Nova's
     * {@code root_gb} 0 for a volume-backed server.
     */
    private Server volumeBacked() {
        f.flavors.create(DISKY);
        f.flavors.create(DISKIER);
        f.host("src", 4096, 4, QEMU);
        f.host("dst", 8192, 4, QEMU);
        Server s = f.server("src", InstanceState.ACTIVE, "", DISKY);
        Volume v = service.create(ALICE, new VolumeService.Create(Optional.of(1), "root", null, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), false));
        Attachment a = lives.reserve(v, s.id(), "/dev/vda", true, false);
        lives.export(a, "src");
        lives.attached(s.id(), v.id());
        return s;
    }

    /** The boot the target was sent in the move's PrepareMigrationTarget. */
    private Boot targetsBoot() {
        return f.sender.sent.stream().map(ConductorFixture.RecordingSender.Sent::command)
                .filter(CommandEnvelope::hasPrepareMigrationTarget).map(c -> c.getPrepareMigrationTarget()
                        .getInstance()).findFirst().orElseThrow();
    }

    private Attachment attachment(Server s) {
        List<Attachment> all = attachments.ofServer(s.id());
        assertThat(all).hasSize(1);
        return all.get(0);
    }

    /** The volumes of the boot the target was sent in the move's PrepareMigrationTarget. */
    private List<VolumeAttachment> targetsVolumes() {
        return f.sender.sent.stream().map(ConductorFixture.RecordingSender.Sent::command)
                .filter(CommandEnvelope::hasPrepareMigrationTarget).map(c -> c.getPrepareMigrationTarget()
                        .getInstance()).map(Boot::getVolumesList).findFirst().orElseThrow();
    }

    @Test
    void aLiveMigrationsTargetOpensTheExportTheSourceReadsAndTheAttachmentMovesOnArrival() {
        Server s = serverWithVolume(QEMU);
        Attachment before = attachment(s);

        f.conductor.liveMigrate(s, Optional.empty(), 0);

        List<VolumeAttachment> sent = targetsVolumes();
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).getAttachmentId()).isEqualTo(before.id());
        assertThat(sent.get(0).getNbdUri()).as("the same export: the source still reads it")
                .endsWith(":" + before.nbdPort() + "/" + before.volumeId());
        assertThat(exports.serving(before.id())).isTrue();
        assertThat(attachment(s).host()).as("until the guest arrives").isEqualTo("src");

        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.ACTIVE).build());

        assertThat(f.now(s).host()).contains("dst");
        Attachment after = attachment(s);
        assertThat(after.host()).isEqualTo("dst");
        assertThat(after.nbdPort()).isEqualTo(before.nbdPort());
        assertThat(after.status()).isEqualTo(Attachment.ATTACHED);
        assertThat(exports.serving(after.id())).isTrue();
        assertThat(volumes.get(after.volumeId()).status()).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void aFailedLiveMigrationLeavesTheVolumeOnTheSourceItsExportServing() {
        Server s = serverWithVolume(QEMU);
        Attachment before = attachment(s);
        f.conductor.liveMigrate(s, Optional.empty(), 0);

        f.conductor.onEvent(f.moveEvent(s, "src", InstanceState.ACTIVE)
                .setFault(ConductorFixture.fault("MigrationFailed", "the target stopped answering")).build());

        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.now(s).host()).contains("src");
        Attachment after = attachment(s);
        assertThat(after).isEqualTo(before);
        assertThat(exports.serving(after.id())).as("the guest on the source reads it on").isTrue();
        assertThat(volumes.get(after.volumeId()).status()).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void aLiveMigrationOfAServerWithVolumesIsRefusedBetweenHostsWhoseDriverCannot() {
        Server s = serverWithVolume(ConductorFixture.KVM);

        assertThatThrownBy(() -> f.conductor.liveMigrate(s, Optional.empty(), 0))
                .isInstanceOf(InvalidRequest.class).hasMessageContaining("Migration pre-check error")
                .hasMessageContaining(Hypervisor.LIVE_MIGRATION_VOLUMES);
        assertThat(f.sent()).isEmpty();
        assertThat(f.vcpusUsed("dst")).as("nothing claimed").isZero();
    }

    @Test
    void aColdMoveBootsTheTargetWithTheSameExportAndARevertGivesTheAttachmentBack() {
        Server s = serverWithVolume(QEMU);
        Attachment before = attachment(s);
        f.actions().migrate(s, Optional.empty(), ConductorFixture.SMALL);

        assertThat(targetsVolumes()).extracting(VolumeAttachment::getNbdUri)
                .containsExactly("nbd://127.0.0.1:" + before.nbdPort() + "/" + before.volumeId());
        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.VERIFY_RESIZE).build());
        assertThat(attachment(s).host()).isEqualTo("dst");

        f.actions().revertResize(f.now(s));

        assertThat(attachment(s).host()).isEqualTo("src");
        assertThat(attachment(s).nbdPort()).isEqualTo(before.nbdPort());
        assertThat(exports.serving(before.id())).isTrue();
    }

    @Test
    void anEvacuationFencesTheDeadHostOffTheVolumeAndBootsTheServerOnANewExport() {
        Server s = serverWithVolume(QEMU);
        Attachment before = attachment(s);
        // The source silent for longer than the fixture's service_down_time (a day); the target reports.
        f.clock.advance(Duration.ofDays(2));
        f.host("dst", 8192, 4, QEMU);

        f.conductor.evacuate(f.now(s));

        Boot boot = f.sender.sent.stream().map(ConductorFixture.RecordingSender.Sent::command)
                .filter(CommandEnvelope::hasBoot).map(CommandEnvelope::getBoot).findFirst().orElseThrow();
        Attachment after = attachment(s);
        assertThat(after.nbdPort()).as("a new export: the old host's connection is cut").isNotEqualTo(before.nbdPort());
        assertThat(boot.getVolumesList()).extracting(VolumeAttachment::getNbdUri)
                .containsExactly("nbd://127.0.0.1:" + after.nbdPort() + "/" + after.volumeId());
        assertThat(exports.serving(after.id())).isTrue();
        assertThat(after.host()).isEqualTo("dst");
        assertThat(volumes.get(after.volumeId()).status()).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void aVolumeBackedServerLiveMigratesWithoutAnImageItsTargetBootingTheSameRootExportAndClaimingNoDisk() {
        Server s = volumeBacked();
        Attachment root = attachment(s);

        f.conductor.liveMigrate(s, Optional.empty(), 0);

        Boot boot = targetsBoot();
        assertThat(boot.getSource()).as("no image: the agent boots the root volume").isEqualTo(
                BootSource.getDefaultInstance());
        assertThat(boot.getResources().getDiskGib()).isZero();
        assertThat(boot.getVolumesList()).singleElement().satisfies(v -> {
            assertThat(v.getBoot()).isTrue();
            assertThat(v.getNbdUri()).isEqualTo("nbd://127.0.0.1:" + root.nbdPort() + "/" + root.volumeId());
        });
        assertThat(f.vcpusUsed("dst")).as("the target's claim").isEqualTo(1);
        assertThat(f.diskUsed("dst")).as("Nova's root_gb 0: the root is the volume").isZero();

        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.ACTIVE).build());

        assertThat(f.now(s).host()).contains("dst");
        assertThat(attachment(s).host()).isEqualTo("dst");
        assertThat(exports.serving(root.id())).isTrue();
        assertThat(f.diskUsed("dst")).isZero();
        assertThat(f.vcpusUsed("src")).as("the source's claim went with the guest").isZero();
    }

    @Test
    void aVolumeBackedServerMovesColdAndOnConfirmItsRootVolumeStaysWithIt() {
        Server s = volumeBacked();
        Attachment root = attachment(s);

        f.actions().migrate(s, Optional.empty(), DISKY);

        assertThat(targetsBoot().getSource()).isEqualTo(BootSource.getDefaultInstance());
        assertThat(f.diskUsed("dst")).isZero();
        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.VERIFY_RESIZE).build());
        assertThat(attachment(s).host()).isEqualTo("dst");
        f.actions().confirmResize(f.now(s), DISKY);

        Server moved = f.now(s);
        assertThat(moved.host()).contains("dst");
        assertThat(moved.sourceHost()).isEmpty();
        assertThat(f.sent()).as("the source deletes its stopped copy; the volume is not its to free")
                .contains("src:DELETE");
        assertThat(f.vcpusUsed("src")).isZero();
        assertThat(f.diskUsed("dst")).isZero();
        assertThat(volumes.get(root.volumeId()).status()).isEqualTo(VolumeStatus.IN_USE);
        assertThat(exports.serving(root.id())).as("its export stays: every host reaches it").isTrue();
    }

    @Test
    void aVolumeBackedServersColdMoveRevertedLeavesItAndItsRootVolumeOnItsSource() {
        Server s = volumeBacked();
        Attachment root = attachment(s);
        f.actions().migrate(s, Optional.empty(), DISKY);
        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.VERIFY_RESIZE).build());

        f.actions().revertResize(f.now(s));

        assertThat(f.now(s).host()).contains("src");
        assertThat(attachment(s).host()).isEqualTo("src");
        assertThat(attachment(s).nbdPort()).as("the same export all along").isEqualTo(root.nbdPort());
        assertThat(f.sent()).as("the target drops its copy, the source starts its own").contains("dst:DELETE");
        assertThat(f.vcpusUsed("dst")).isZero();
        assertThat(f.diskUsed("src")).isZero();
    }

    @Test
    void aVolumeBackedServersResizeClaimsTheNewSizeWithoutItsDisk() {
        Server s = volumeBacked();

        f.conductor.resize(s, DISKIER);

        Resize resize = f.sender.sent.stream().map(ConductorFixture.RecordingSender.Sent::command)
                .filter(CommandEnvelope::hasResize).map(CommandEnvelope::getResize).findFirst().orElseThrow();
        assertThat(f.sent()).as("resized where it is: the disk the host lacks is not taken")
                .containsExactly("src:RESIZE");
        assertThat(resize.getResources().getDiskGib()).isZero();
        assertThat(f.vcpusUsed("src")).as("old and new size held until confirmed").isEqualTo(3);
        assertThat(f.diskUsed("src")).isZero();
    }

    @Test
    void aVolumeBackedServerIsEvacuatedOntoItsRootVolumeWithoutAnImage() {
        Server s = volumeBacked();
        f.clock.advance(Duration.ofDays(2));
        f.host("dst", 8192, 4, QEMU);

        f.conductor.evacuate(f.now(s));

        Boot boot = f.sender.sent.stream().map(ConductorFixture.RecordingSender.Sent::command)
                .filter(CommandEnvelope::hasBoot).map(CommandEnvelope::getBoot).findFirst().orElseThrow();
        assertThat(f.sent()).contains("dst:BOOT");
        assertThat(boot.getSource()).isEqualTo(BootSource.getDefaultInstance());
        assertThat(boot.getResources().getDiskGib()).isZero();
        assertThat(boot.getVolumesList()).extracting(VolumeAttachment::getBoot).containsExactly(true);
        assertThat(attachment(s).host()).isEqualTo("dst");
    }
}
