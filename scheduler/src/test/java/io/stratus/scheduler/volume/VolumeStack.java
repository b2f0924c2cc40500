package io.stratus.scheduler.volume;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import javax.sql.DataSource;

/**
 * The volume service as the scheduler wires it, for tests that need real volumes: its stores over
 * one database, a pool directory (qemu-img), exports served by qemu-nbd on loopback ports of the
 * test's own (each test class takes a range no other class uses: classes may run at once), and the
 * volume worker run on the caller's thread, so a volume is made by the time {@code create} returns.
 *
 * @param attachmentRows the attachments' table; {@code attachments} is what the Compute API calls
 */
public record VolumeStack(VolumeStore volumes, SnapshotStore snapshots, VolumeTypeStore types,
                          AttachmentStore attachmentRows, VolumePool pool, VolumeService service, NbdExports exports,
                          VolumeAttachments attachments, ScheduledExecutorService restarts) implements AutoCloseable {

    /** With no image service: volumes are made empty, from snapshots or from other volumes. */
    public static VolumeStack open(DataSource db, Clock clock, Path pool, int firstPort, int lastPort) {
        return open(db, clock, pool, new NoImages(), firstPort, lastPort);
    }

    public static VolumeStack open(DataSource db, Clock clock, Path pool, Images images, int firstPort,
                                   int lastPort) {
        VolumeStore volumes = new VolumeStore(db, clock);
        SnapshotStore snapshots = new SnapshotStore(db, clock);
        VolumeTypeStore types = new VolumeTypeStore(db);
        AttachmentStore rows = new AttachmentStore(db, clock);
        VolumePool files = new VolumePool(pool, "qemu-img").open();
        VolumeService service = new VolumeService(volumes, snapshots, types, rows, new VolumeQuotaStore(db), files,
                images, Runnable::run);
        ScheduledExecutorService restarts = Executors.newSingleThreadScheduledExecutor();
        NbdExports exports = new NbdExports(new NbdExports.Settings("qemu-nbd", "127.0.0.1", firstPort, lastPort),
                files, rows, restarts);
        exports.recover();
        return new VolumeStack(volumes, snapshots, types, rows, files, service, exports,
                new VolumeAttachments(volumes, rows, exports, service), restarts);
    }

    /** Stops the exports (their qemu-nbd processes) and the restarts of failed ones. */
    @Override
    public void close() {
        exports.close();
        restarts.shutdownNow();
    }
}
