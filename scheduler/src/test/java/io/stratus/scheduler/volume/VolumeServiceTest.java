package io.stratus.scheduler.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.database.Database;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The volume service on the real schema (H2) and a real pool (Debian's qemu-img): the worker runs
 * each task in the calling thread, so every outcome is there when the call returns.
 */
class VolumeServiceTest {
    private static final VolumeService.Asker ALICE = new VolumeService.Asker("p-alice", "u-alice", false, "t");
    private static final VolumeService.Asker BOB = new VolumeService.Asker("p-bob", "u-bob", false, "t");

    @TempDir
    Path dir;
    private Database db;
    private VolumeStore volumes;
    private SnapshotStore snapshots;
    private AttachmentStore attachments;
    private VolumeQuotaStore quotas;
    private VolumePool pool;
    private VolumeService service;
    private final StagedImages images = new StagedImages();

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-img")), "needs Debian's qemu-utils (qemu-img)");
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        Clock clock = Clock.systemUTC();
        volumes = new VolumeStore(db.dataSource(), clock);
        snapshots = new SnapshotStore(db.dataSource(), clock);
        attachments = new AttachmentStore(db.dataSource(), clock);
        quotas = new VolumeQuotaStore(db.dataSource());
        pool = new VolumePool(dir.resolve("pool"), "qemu-img").open();
        service = new VolumeService(volumes, snapshots, new VolumeTypeStore(db.dataSource()), attachments, quotas,
                pool, images, Runnable::run);
    }

    @AfterEach
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private static VolumeService.Create empty(int gb) {
        return new VolumeService.Create(Optional.of(gb), "v", null, Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Map.of("k", "v"), false);
    }

    @Test
    void anEmptyVolumeIsAQcow2FileOfItsSizeThatOnlyTheServiceReads() throws IOException {
        Volume v = service.create(ALICE, empty(1));

        Volume made = volumes.get(v.id());
        assertThat(made.status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(made.typeId()).isEqualTo(new VolumeTypeStore(db.dataSource()).defaultType().id());
        assertThat(volumes.metadata(v.id())).containsEntry("k", "v");
        assertThat(pool.virtualSize(v.id())).isEqualTo(1L << 30);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pool.volumeFile(v.id()))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pool.dir()))).isEqualTo("rwx------");
    }

    @Test
    void snapshotsAndClonesCarryTheDataAndAnExtendGrowsTheFile() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")), "needs qemu-io (qemu-utils) to write data");
        Volume v = service.create(ALICE, empty(1));
        qemuIo(pool.volumeFile(v.id()), "write -P 0x5a 0 64k");

        Snapshot s = service.snapshot(ALICE, v, "s", null, Map.of(), false);
        assertThat(snapshots.get(s.id()).status()).isEqualTo(Snapshot.AVAILABLE);
        qemuIo(pool.volumeFile(v.id()), "write -P 0x11 0 64k");

        Volume restored = service.create(ALICE, new VolumeService.Create(Optional.of(2), "r", null,
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(s.id()), Optional.empty(),
                Map.of(), false));
        Volume clone = service.create(ALICE, new VolumeService.Create(Optional.empty(), "c", null,
                Optional.empty(), Optional.empty(), Optional.of(v.id()), Optional.empty(), Optional.empty(),
                Map.of(), false));

        assertThat(volumes.get(restored.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(qemuIo(pool.volumeFile(restored.id()), "read -P 0x5a 0 64k")).as("the snapshot's data").isZero();
        assertThat(pool.virtualSize(restored.id())).isEqualTo(2L << 30);
        assertThat(volumes.get(clone.id()).sizeGb()).as("a clone takes its source's size").isEqualTo(1);
        assertThat(qemuIo(pool.volumeFile(clone.id()), "read -P 0x11 0 64k")).as("the source's data now").isZero();

        service.extend(volumes.get(v.id()), 3);
        assertThat(volumes.get(v.id()).sizeGb()).isEqualTo(3);
        assertThat(volumes.get(v.id()).status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(pool.virtualSize(v.id())).isEqualTo(3L << 30);
        assertThat(qemuIo(pool.volumeFile(v.id()), "read -P 0x11 0 64k")).as("an extend keeps the data").isZero();
    }

    @Test
    void aVolumeFromAnImageHoldsItsDataAndItsProperties() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")), "needs qemu-io (qemu-utils) to read data");
        byte[] data = new byte[3 << 20];
        java.util.Arrays.fill(data, (byte) 0x77);
        images.put(new Images.Facts("img-1", "p-alice", "private", "active", "raw", data.length, 0,
                Map.of("os_distro", "debian")), data);

        Volume v = service.create(ALICE, new VolumeService.Create(Optional.empty(), "boot", null, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.of("img-1"), Map.of(), false));

        Volume made = volumes.get(v.id());
        assertThat(made.status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(made.sizeGb()).as("the image's size, rounded up to GiB").isEqualTo(1);
        assertThat(made.bootable()).isTrue();
        assertThat(volumes.imageMetadata(v.id())).containsEntry("os_distro", "debian").containsEntry("image_id",
                "img-1");
        assertThat(qemuIo(pool.volumeFile(v.id()), "read -P 0x77 0 3M")).isZero();
        assertThatThrownBy(() -> service.create(BOB, new VolumeService.Create(Optional.of(1), "x", null,
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.of("img-1"),
                Map.of(), false))).as("another project's private image").isInstanceOf(VolumeException.class)
                .extracting(e -> ((VolumeException) e).kind()).isEqualTo(VolumeException.Kind.INVALID);
    }

    @Test
    void aVolumeInUseOrWithSnapshotsIsNotDeletedAndAFreeOneIsGoneWithItsFile() {
        Volume v = service.create(ALICE, empty(1));
        Snapshot s = service.snapshot(ALICE, v, "s", null, Map.of(), false);
        assertThatThrownBy(() -> service.delete(volumes.get(v.id()))).hasMessageContaining("dependent snapshots");
        service.deleteSnapshot(snapshots.get(s.id()));
        assertThat(snapshots.find(s.id())).isEmpty();
        assertThat(pool.snapshotFile(s.id())).doesNotExist();

        attachments.reserve(v.id(), "server-1", "/dev/vdb", false, false, false);
        volumes.transition(v.id(), VolumeStatus.ATTACHING);
        volumes.transition(v.id(), VolumeStatus.IN_USE);
        assertThatThrownBy(() -> service.delete(volumes.get(v.id()))).isInstanceOf(VolumeException.class)
                .hasMessageContaining("attached");
        attachments.delete(attachments.ofVolume(v.id()).get(0).id());
        volumes.transition(v.id(), VolumeStatus.DETACHING);
        volumes.transition(v.id(), VolumeStatus.AVAILABLE);

        service.delete(volumes.get(v.id()));
        assertThat(volumes.find(v.id())).isEmpty();
        assertThat(pool.volumeFile(v.id())).doesNotExist();
    }

    @Test
    void createsAreCheckedBeforeAnythingIsMade() {
        assertThatThrownBy(() -> service.create(ALICE, empty(0))).hasMessageContaining("greater than 0");
        assertThatThrownBy(() -> service.create(ALICE, new VolumeService.Create(Optional.of(1), "v", null,
                Optional.of("gold"), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                false))).extracting(e -> ((VolumeException) e).kind()).isEqualTo(VolumeException.Kind.NOT_FOUND);
        assertThatThrownBy(() -> service.create(ALICE, new VolumeService.Create(Optional.of(1), "v", null,
                Optional.empty(), Optional.empty(), Optional.of(UUID.randomUUID().toString()), Optional.empty(),
                Optional.empty(), Map.of(), false))).extracting(e -> ((VolumeException) e).kind())
                .isEqualTo(VolumeException.Kind.NOT_FOUND);
        assertThatThrownBy(() -> service.create(ALICE, new VolumeService.Create(Optional.of(1), "v", null,
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                true))).as("multiattach on a type that does not allow it").hasMessageContaining("multiattach");
        Volume other = service.create(BOB, empty(1));
        assertThatThrownBy(() -> service.visibleVolume(ALICE, other.id())).extracting(e -> ((VolumeException) e)
                .kind()).isEqualTo(VolumeException.Kind.NOT_FOUND);
        assertThat(volumes.list("p-alice")).isEmpty();
    }

    @Test
    void aProjectsQuotaCountsVolumesAndGigabytes() {
        quotas.set("p-alice", "volumes", 1);
        service.create(ALICE, empty(1));
        assertThatThrownBy(() -> service.create(ALICE, empty(1))).extracting(e -> ((VolumeException) e).kind())
                .isEqualTo(VolumeException.Kind.OVER_QUOTA);
        quotas.set("p-bob", "gigabytes", 2);
        service.create(BOB, empty(2));
        assertThatThrownBy(() -> service.create(BOB, empty(1))).hasMessageContaining("gigabytes");
        assertThat(volumes.list(null)).hasSize(2);
    }

    @Test
    void twoStartsOfOneOperationCannotBothWin() {
        Volume v = service.create(ALICE, empty(1));
        assertThat(volumes.tryTransition(v.id(), VolumeStatus.before(VolumeStatus.EXTENDING), VolumeStatus.EXTENDING))
                .isTrue();
        assertThat(volumes.tryTransition(v.id(), VolumeStatus.before(VolumeStatus.EXTENDING), VolumeStatus.EXTENDING))
                .isFalse();
        assertThatThrownBy(() -> service.extend(volumes.get(v.id()), 5)).hasMessageContaining("extending");
    }

    @Test
    void aFailedCopyLeavesTheVolumeInErrorWithTheReason() {
        images.put(new Images.Facts("img-big", "p-alice", "public", "active", "raw", 3L << 30, 0, Map.of()),
                new byte[0]);
        images.failDownloads = true;
        Volume broken = service.create(ALICE, new VolumeService.Create(Optional.of(3), "v", null, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.of("img-big"), Map.of(), false));
        assertThat(volumes.get(broken.id()).status()).isEqualTo(VolumeStatus.ERROR);
        assertThat(volumes.get(broken.id()).fault()).contains("unreachable");
        assertThat(pool.hasVolume(broken.id())).isFalse();
    }

    private static int qemuIo(Path file, String command) throws Exception {
        Process p = new ProcessBuilder("qemu-io", "-f", "qcow2", "-c", command, file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out.contains("Pattern verification failed") ? 1 : p.exitValue();
    }
}
