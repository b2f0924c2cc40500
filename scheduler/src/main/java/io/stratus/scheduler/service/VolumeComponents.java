package io.stratus.scheduler.service;

import io.stratus.database.Database;
import io.stratus.scheduler.conductor.HostCommands;
import io.stratus.scheduler.conductor.VolumeActions;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.volume.AttachmentStore;
import io.stratus.scheduler.volume.BootVolumes;
import io.stratus.scheduler.volume.Images;
import io.stratus.scheduler.volume.NbdExports;
import io.stratus.scheduler.volume.SnapshotStore;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumePool;
import io.stratus.scheduler.volume.VolumeQuotaStore;
import io.stratus.scheduler.volume.VolumeService;
import io.stratus.scheduler.volume.VolumeStore;
import io.stratus.scheduler.volume.VolumeTypeStore;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** Wires the volume service: its stores, pool, worker, NBD exports and the compute side's volume parts. */
@Singleton
public class VolumeComponents {
    @Produces
    @Singleton
    VolumeStore volumes(Database db, Clock clock) {
        return new VolumeStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    SnapshotStore snapshots(Database db, Clock clock) {
        return new SnapshotStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    VolumeTypeStore volumeTypes(Database db) {
        return new VolumeTypeStore(db.dataSource());
    }

    @Produces
    @Singleton
    AttachmentStore volumeAttachments(Database db, Clock clock) {
        return new AttachmentStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    VolumeQuotaStore volumeQuotas(Database db) {
        return new VolumeQuotaStore(db.dataSource());
    }

    @Produces
    @Singleton
    VolumePool volumePool(VolumeConfig config) {
        return new VolumePool(config.poolDir(), config.qemuImg()).open();
    }

    /** The volume service's worker: the slow half of creates, deletes, extends, snapshots and uploads. */
    @Produces
    @Singleton
    @jakarta.inject.Named("volume-worker")
    ExecutorService volumeWorker(VolumeConfig config) {
        return Executors.newFixedThreadPool(config.workers(), r -> {
            Thread t = new Thread(r, "volume-worker");
            t.setDaemon(true);
            return t;
        });
    }

    void closeVolumeWorker(@Disposes @jakarta.inject.Named("volume-worker") ExecutorService worker) {
        worker.shutdownNow();
    }

    @Produces
    @Singleton
    VolumeService volumeService(VolumeStore volumes, SnapshotStore snapshots, VolumeTypeStore types,
                                AttachmentStore attachments, VolumeQuotaStore quotas, VolumePool pool,
                                ImageCatalog catalog, @jakarta.inject.Named("volume-worker") ExecutorService worker) {
        return new VolumeService(volumes, snapshots, types, attachments, quotas, pool, images(catalog), worker);
    }

    /** The image service as the volume service sees it. */
    private static Images images(ImageCatalog catalog) {
        return new Images() {
            @Override
            public Optional<Facts> find(String imageId) {
                return catalog.record(imageId).map(r -> {
                    java.util.Map<String, String> properties = new java.util.LinkedHashMap<>();
                    r.fields().forEachRemaining(f -> {
                        if (f.getValue().isValueNode() && !f.getValue().isNull() && !f.getKey().equals("self")
                                && !f.getKey().equals("file") && !f.getKey().equals("schema")) {
                            properties.put(f.getKey(), f.getValue().asText());
                        }
                    });
                    properties.put("image_name", r.path("name").asText(""));
                    return new Facts(r.path("id").asText(), r.path("owner").asText(""),
                            r.path("visibility").asText("private"), r.path("status").asText(),
                            r.path("disk_format").asText(""), r.path("size").asLong(), r.path("min_disk").asLong(),
                            properties);
                });
            }

            @Override
            public void download(String imageId, java.nio.file.Path to) {
                catalog.download(imageId, to);
            }

            @Override
            public String create(String callerToken, java.util.Map<String, Object> fields) {
                return catalog.create(callerToken, fields);
            }

            @Override
            public void upload(String imageId, java.nio.file.Path from) {
                catalog.upload(imageId, from);
            }
        };
    }

    @Produces
    @Singleton
    NbdExports nbdExports(VolumeConfig config, VolumePool pool, AttachmentStore attachments) {
        ScheduledExecutorService restarts = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nbd-export-restarts");
            t.setDaemon(true);
            return t;
        });
        VolumeConfig.Nbd nbd = config.nbd();
        return new NbdExports(new NbdExports.Settings(config.qemuNbd(), nbd.address(), nbd.firstPort(),
                nbd.lastPort()), pool, attachments, restarts);
    }

    void closeNbdExports(@Disposes NbdExports exports) {
        exports.close();
    }

    @Produces
    @Singleton
    VolumeAttachments volumeAttachmentsOfServers(VolumeStore volumes, AttachmentStore attachments, NbdExports exports,
                                                 VolumeService service) {
        return new VolumeAttachments(volumes, attachments, exports, service);
    }

    @Produces
    @Singleton
    BootVolumes bootVolumes(VolumeStore volumes, SnapshotStore snapshots, VolumeTypeStore types, ImageCatalog catalog,
                            VolumeService service, VolumeAttachments attachments) {
        return new BootVolumes(volumes, snapshots, types, images(catalog), service, attachments);
    }

    @Produces
    @Singleton
    VolumeActions volumeActions(VolumeAttachments attachments, HostCommands commands) {
        return new VolumeActions(attachments, commands);
    }
}
