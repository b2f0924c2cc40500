package io.stratus.scheduler.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.database.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server's volumes at create (block device mapping) on the real schema (H2) and a real pool
 * (qemu-img): Nova's checks before the server is made, then the volumes reserved or made for it,
 * attached when it booted, and let go (or deleted) with it. The worker runs in the calling thread.
 */
class BootVolumesTest {
    private static final VolumeService.Asker ALICE = new VolumeService.Asker("p-alice", "u-alice", false, "t");
    private static final VolumeService.Asker BOB = new VolumeService.Asker("p-bob", "u-bob", false, "t");

    @TempDir
    Path dir;
    private Database db;
    private VolumeStore volumes;
    private SnapshotStore snapshots;
    private VolumePool pool;
    private VolumeService service;
    private VolumeAttachments attachments;
    private VolumeStack stack;
    private BootVolumes boot;
    private final StagedImages images = new StagedImages();
    /** Each time a volume made for a server is ready (the conductor places the server then). */
    private final List<String> made = new ArrayList<>();

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-img")), "needs Debian's qemu-utils (qemu-img)");
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        // No export is made here (no host boots): the ports only have to be valid.
        stack = VolumeStack.open(db.dataSource(), Clock.systemUTC(), dir.resolve("pool"), images, 41900, 41909);
        volumes = stack.volumes();
        snapshots = stack.snapshots();
        pool = stack.pool();
        service = stack.service();
        attachments = stack.attachments();
        boot = new BootVolumes(volumes, snapshots, stack.types(), images, service, attachments);
    }

    @AfterEach
    void tearDown() {
        if (db != null) {
            stack.close();
            db.close();
        }
    }

    private Volume volume(VolumeService.Asker asker, int gb, Optional<String> image) {
        return service.create(asker, new VolumeService.Create(image.isPresent() ? Optional.empty() : Optional.of(gb),
                "v", null, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), image, Map.of(),
                false));
    }

    private static BlockDeviceMapping root(BlockDeviceMapping.Source source, String uuid, Optional<Integer> size,
                                           boolean deleteOnTermination) {
        return new BlockDeviceMapping(source, uuid, 0, size, deleteOnTermination, Optional.empty(), Optional.empty());
    }

    private static BlockDeviceMapping extra(String volumeId) {
        return new BlockDeviceMapping(BlockDeviceMapping.Source.VOLUME, volumeId, -1, Optional.empty(), false,
                Optional.empty(), Optional.empty());
    }

    private void stageImage(String id, long size, long minDisk) {
        images.put(new Images.Facts(id, "p-alice", "private", "active", "raw", size, minDisk, Map.of()),
                new byte[(int) size]);
    }

    @Test
    void refusesWithNovasMessagesBeforeAnyServerIsMade() {
        Volume plain = volume(ALICE, 1, Optional.empty());
        Volume bobs = volume(BOB, 1, Optional.empty());
        stageImage("img-1", 4096, 2);

        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.VOLUME, "nope",
                Optional.empty(), false)), 1))
                .hasMessage("Block Device Mapping is Invalid: failed to get volume nope.");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.VOLUME, bobs.id(),
                Optional.empty(), false)), 1)).as("another project's volume does not exist for it")
                .hasMessageContaining("failed to get volume " + bobs.id());
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.VOLUME, plain.id(),
                Optional.empty(), false)), 1)).hasMessage("Block Device " + plain.id() + " is not bootable.");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(extra(plain.id())), 2))
                .hasMessage("Cannot attach one or more volumes to multiple instances");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.IMAGE, "img-1",
                Optional.of(1), false)), 1)).hasMessage("Volume is smaller than the minimum size specified in image"
                + " metadata. Volume size is 1073741824 bytes, minimum size is 2147483648 bytes.");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.IMAGE, "img-1",
                Optional.empty(), false)), 1)).hasMessage("Images with destination_type 'volume' need to have a"
                + " non-zero size specified");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.IMAGE, "img-x",
                Optional.of(3), false)), 1)).hasMessage("Block Device Mapping is Invalid: failed to get image img-x.");
        assertThatThrownBy(() -> boot.check(ALICE, List.of(root(BlockDeviceMapping.Source.SNAPSHOT, "snap-x",
                Optional.empty(), false)), 1)).hasMessage("Block Device Mapping is Invalid: failed to get snapshot"
                + " snap-x.");

        attachments.reserve(plain, "server-0", "/dev/vdb", false, false);
        assertThatThrownBy(() -> boot.check(ALICE, List.of(extra(plain.id())), 1))
                .isInstanceOf(VolumeException.class).hasMessage("Invalid volume: volume '" + plain.id()
                        + "' status must be 'available'. Currently in 'attaching'");
    }

    @Test
    void anExistingRootAndAnExtraVolumeAreReservedAttachedAtBootAndLetGoWithTheServer() {
        stageImage("img-1", 4096, 0);
        Volume rootVolume = volume(ALICE, 1, Optional.of("img-1"));
        Volume data = volume(ALICE, 1, Optional.empty());
        List<BlockDeviceMapping> mappings = List.of(extra(data.id()), root(BlockDeviceMapping.Source.VOLUME,
                rootVolume.id(), Optional.empty(), false));
        boot.check(ALICE, mappings, 1);

        boot.provide(ALICE, "server-1", mappings, () -> made.add("server-1"));

        assertThat(made).as("nothing was made: the API places the server itself").isEmpty();
        assertThat(attachments.ofServer("server-1")).extracting(Attachment::volumeId, Attachment::device,
                Attachment::boot).containsExactly(org.assertj.core.groups.Tuple.tuple(rootVolume.id(), "/dev/vda",
                true), org.assertj.core.groups.Tuple.tuple(data.id(), "/dev/vdb", false));
        assertThat(attachments.unmade("server-1")).isEmpty();
        assertThat(volumes.get(rootVolume.id()).status()).isEqualTo(VolumeStatus.ATTACHING);

        attachments.booted("server-1");
        assertThat(volumes.get(rootVolume.id()).status()).isEqualTo(VolumeStatus.IN_USE);
        assertThat(volumes.get(data.id()).status()).isEqualTo(VolumeStatus.IN_USE);

        attachments.serverDeleted("server-1");
        assertThat(volumes.get(rootVolume.id()).status()).as("delete_on_termination false: it stays")
                .isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(volumes.get(data.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
    }

    @Test
    void aRootVolumeMadeFromAnImageIsBootableAndGoesWithItsServer() throws Exception {
        stageImage("img-1", 4096, 0);
        List<BlockDeviceMapping> mappings = List.of(root(BlockDeviceMapping.Source.IMAGE, "img-1", Optional.of(1),
                true));
        boot.check(ALICE, mappings, 1);

        boot.provide(ALICE, "server-2", mappings, () -> made.add("server-2"));

        Attachment a = attachments.ofServer("server-2").get(0);
        Volume v = volumes.get(a.volumeId());
        assertThat(a.boot()).isTrue();
        assertThat(a.deleteOnTermination()).isTrue();
        assertThat(v.bootable()).isTrue();
        assertThat(v.sizeGb()).isEqualTo(1);
        assertThat(v.status()).as("made and reserved for the server").isEqualTo(VolumeStatus.ATTACHING);
        assertThat(volumes.imageMetadata(v.id())).containsEntry("image_id", "img-1");
        assertThat(attachments.unmade("server-2")).isEmpty();

        attachments.booted("server-2");
        attachments.serverDeleted("server-2");
        assertThat(volumes.find(v.id())).as("delete_on_termination: deleted with the server").isEmpty();
        assertThat(Files.exists(pool.volumeFile(v.id()))).isFalse();
    }

    @Test
    void anExtraVolumeFromASnapshotTakesTheSnapshotsSizeUnlessAskedForMore() {
        Volume source = volume(ALICE, 1, Optional.empty());
        Snapshot snap = service.snapshot(ALICE, source, "s", null, Map.of(), false);
        BlockDeviceMapping fromSnapshot = new BlockDeviceMapping(BlockDeviceMapping.Source.SNAPSHOT, snap.id(), -1,
                Optional.empty(), false, Optional.empty(), Optional.empty());
        BlockDeviceMapping smaller = new BlockDeviceMapping(BlockDeviceMapping.Source.SNAPSHOT, snap.id(), -1,
                Optional.of(0), false, Optional.empty(), Optional.empty());
        assertThatThrownBy(() -> boot.check(ALICE, List.of(smaller), 1)).hasMessageContaining("cannot be smaller");
        assertThatThrownBy(() -> boot.check(BOB, List.of(fromSnapshot), 1))
                .hasMessage("Block Device Mapping is Invalid: failed to get snapshot " + snap.id() + ".");
        boot.check(ALICE, List.of(fromSnapshot), 2);

        boot.provide(ALICE, "server-4", List.of(fromSnapshot), () -> made.add("server-4"));

        Attachment a = attachments.ofServer("server-4").get(0);
        assertThat(a.device()).isEqualTo("/dev/vdb");
        assertThat(a.boot()).isFalse();
        Volume v = volumes.get(a.volumeId());
        assertThat(v.snapshotId()).isEqualTo(snap.id());
        assertThat(v.sizeGb()).isEqualTo(1);
        assertThat(v.status()).isEqualTo(VolumeStatus.ATTACHING);
    }

    @Test
    void aVolumeThatCannotBeMadeLeavesTheServerUnreadyForGood() {
        stageImage("img-1", 4096, 0);
        images.failDownloads = true;
        boot.provide(ALICE, "server-3", List.of(root(BlockDeviceMapping.Source.IMAGE, "img-1", Optional.of(1), true)),
                () -> made.add("server-3"));

        Optional<Volume> failed = attachments.unmade("server-3");
        assertThat(failed).isPresent();
        assertThat(failed.get().status()).isEqualTo(VolumeStatus.ERROR);

        // What the conductor does with a server whose volume failed: let go as at its deletion.
        attachments.serverDeleted("server-3");
        assertThat(volumes.find(failed.get().id())).as("made for it, delete_on_termination: cleaned up").isEmpty();
    }
}
