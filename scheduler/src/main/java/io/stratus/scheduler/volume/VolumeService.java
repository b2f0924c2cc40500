package io.stratus.scheduler.volume;

import io.stratus.database.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import org.jboss.logging.Logger;

/**
 * Cinder's volume API and volume manager in one: checks a request against the volume's status
 * and the project's quota, records the change, and does the slow part (qemu-img on the pool, an
 * image download or upload) on the worker, which moves the volume on to {@code available} or to
 * an error status with the reason. Attaching is {@link VolumeAttachments}'.
 */
public final class VolumeService {
    private static final Logger LOG = Logger.getLogger(VolumeService.class);
    /** Cinder's statuses a volume may be deleted from (without cascade, force or attachments). */
    private static final Set<VolumeStatus> DELETABLE = EnumSet.of(VolumeStatus.AVAILABLE, VolumeStatus.ERROR,
            VolumeStatus.ERROR_EXTENDING, VolumeStatus.ERROR_DELETING);
    public static final String ZONE = "nova";

    /** Who asks: the project a new volume or snapshot is made in, and the user. */
    public record Asker(String projectId, String userId, boolean admin, String token) {
    }

    /** A create request; at most one of the sources is set. */
    public record Create(Optional<Integer> sizeGb, String name, String description, Optional<String> type,
                         Optional<String> availabilityZone, Optional<String> sourceVolid,
                         Optional<String> snapshotId, Optional<String> imageId, Map<String, String> metadata,
                         boolean multiattach) {
    }

    private final VolumeStore volumes;
    private final SnapshotStore snapshots;
    private final VolumeTypeStore types;
    private final AttachmentStore attachments;
    private final VolumeQuotaStore quotas;
    private final VolumePool pool;
    private final Images images;
    private final Executor worker;

    public VolumeService(VolumeStore volumes, SnapshotStore snapshots, VolumeTypeStore types,
                         AttachmentStore attachments, VolumeQuotaStore quotas, VolumePool pool, Images images,
                         Executor worker) {
        this.volumes = volumes;
        this.snapshots = snapshots;
        this.types = types;
        this.attachments = attachments;
        this.quotas = quotas;
        this.pool = pool;
        this.images = images;
        this.worker = worker;
    }

    public Volume create(Asker asker, Create c) {
        return create(asker, c, id -> { });
    }

    /**
     * Creates a volume as {@link #create(Asker, Create)} does, and runs {@code settled} on the
     * worker with its id once the volume is {@code available} or failed (a server that boots from
     * it waits for that).
     */
    public Volume create(Asker asker, Create c, java.util.function.Consumer<String> settled) {
        int sources = (c.sourceVolid().isPresent() ? 1 : 0) + (c.snapshotId().isPresent() ? 1 : 0)
                + (c.imageId().isPresent() ? 1 : 0);
        if (sources > 1) {
            throw VolumeException.invalid("Invalid input received: only one of source_volid, snapshot_id and"
                    + " imageRef may be given.");
        }
        c.availabilityZone().filter(z -> !z.equals(ZONE)).ifPresent(z -> {
            throw VolumeException.invalid("Invalid input received: Availability zone '" + z + "' is invalid.");
        });
        VolumeType type = c.type().map(t -> types.find(t).orElseThrow(() -> VolumeException.notFound(
                "Volume type with name", t))).orElseGet(types::defaultType);
        if (c.multiattach() && !type.multiattach()) {
            throw VolumeException.invalid("Invalid input received: multiattach needs a volume type that allows it"
                    + " (extra spec multiattach=\"<is> True\"); " + type.name() + " does not.");
        }
        int minGb = 0;
        boolean bootable = false;
        Optional<Images.Facts> image = Optional.empty();
        Optional<Volume> source = Optional.empty();
        Optional<Snapshot> snapshot = Optional.empty();
        if (c.sourceVolid().isPresent()) {
            source = Optional.of(visibleVolume(asker, c.sourceVolid().get()));
            if (source.get().status() != VolumeStatus.AVAILABLE && source.get().status() != VolumeStatus.IN_USE) {
                throw VolumeException.invalidVolume("source volume " + source.get().id() + " must be available or"
                        + " in-use to be cloned, but it is " + source.get().status().apiName() + ".");
            }
            minGb = source.get().sizeGb();
            bootable = source.get().bootable();
        } else if (c.snapshotId().isPresent()) {
            snapshot = Optional.of(visibleSnapshot(asker, c.snapshotId().get()));
            if (!Snapshot.AVAILABLE.equals(snapshot.get().status())) {
                throw VolumeException.invalid("Invalid snapshot: snapshot " + snapshot.get().id() + " must be"
                        + " available, but it is " + snapshot.get().status() + ".");
            }
            minGb = snapshot.get().sizeGb();
            bootable = volumes.find(snapshot.get().volumeId()).map(Volume::bootable).orElse(false);
        } else if (c.imageId().isPresent()) {
            image = images.find(c.imageId().get()).filter(i -> asker.admin() || i.visibleTo(asker.projectId()));
            if (image.isEmpty()) {
                throw VolumeException.invalid("Invalid image identifier or unable to access requested image.");
            }
            if (!"active".equals(image.get().status())) {
                throw VolumeException.invalid("Invalid input received: image " + image.get().id() + " is not active.");
            }
            long gib = 1L << 30;
            minGb = (int) Math.max(image.get().minDisk(), (image.get().size() + gib - 1) / gib);
            bootable = true;
        }
        int size = c.sizeGb().orElse(minGb);
        if (size <= 0) {
            throw VolumeException.invalid("Invalid input received: size must be an integer greater than 0"
                    + (sources == 0 ? " (give size for a volume with no source)." : "."));
        }
        if (size < minGb) {
            throw VolumeException.invalid("Invalid input received: volume size " + size + "GB cannot be smaller"
                    + " than the source's " + minGb + "GB.");
        }
        long perVolume = quotas.limits(asker.projectId()).getOrDefault("per_volume_gigabytes", -1L);
        if (perVolume >= 0 && size > perVolume) {
            throw new VolumeException(VolumeException.Kind.OVER_QUOTA, "VolumeSizeExceedsLimit: Requested volume"
                    + " size " + size + "G is larger than maximum allowed limit " + perVolume + "G.");
        }
        long[] used = volumes.usage(asker.projectId());
        quotas.check(asker.projectId(), "volumes", used[0], 1);
        quotas.check(asker.projectId(), "gigabytes", used[1] + snapshots.usage(asker.projectId())[1], size);
        Volume v = volumes.create(new VolumeStore.Spec(asker.projectId(), asker.userId(), c.name(), c.description(),
                size, ZONE, type, c.sourceVolid().orElse(null), c.snapshotId().orElse(null),
                c.imageId().orElse(null), bootable, c.metadata()));
        long bytes = v.sizeBytes();
        Optional<Images.Facts> fromImage = image;
        Optional<Volume> fromVolume = source;
        Optional<Snapshot> fromSnapshot = snapshot;
        work(v.id(), VolumeStatus.ERROR, () -> {
            if (fromVolume.isPresent()) {
                pool.cloneVolume(fromVolume.get().id(), v.id(), bytes);
                volumes.putImageMetadata(v.id(), volumes.imageMetadata(fromVolume.get().id()));
            } else if (fromSnapshot.isPresent()) {
                pool.fromSnapshot(fromSnapshot.get().id(), v.id(), bytes);
                volumes.putImageMetadata(v.id(), volumes.imageMetadata(fromSnapshot.get().volumeId()));
            } else if (fromImage.isPresent()) {
                volumes.transition(v.id(), EnumSet.of(VolumeStatus.CREATING), VolumeStatus.DOWNLOADING);
                copyImage(fromImage.get(), v.id(), bytes);
            } else {
                pool.createEmpty(v.id(), bytes);
            }
            volumes.transition(v.id(), EnumSet.of(VolumeStatus.CREATING, VolumeStatus.DOWNLOADING),
                    VolumeStatus.AVAILABLE);
        }, () -> settled.accept(v.id()));
        return volumes.get(v.id());
    }

    private void copyImage(Images.Facts image, String volumeId, long bytes) {
        Path tmp = null;
        try {
            tmp = PrivateFiles.createTempFile(pool.dir(), ".image-", ".data");
            images.download(image.id(), tmp);
            String format = "qcow2".equals(image.diskFormat()) ? "qcow2" : "raw";
            pool.fromImage(tmp, format, volumeId, bytes);
            Map<String, String> meta = new LinkedHashMap<>(image.properties());
            meta.put("image_id", image.id());
            volumes.putImageMetadata(volumeId, meta);
        } catch (IOException e) {
            throw VolumeException.failed("cannot stage image " + image.id() + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Deletes a volume that has no attachments and no snapshots (Cinder's rules without cascade). */
    public void delete(Volume v) {
        if (!attachments.ofVolume(v.id()).isEmpty() || v.status() == VolumeStatus.IN_USE) {
            throw VolumeException.invalidVolume("Volume " + v.id() + " is attached; detach it before deleting it.");
        }
        if (snapshots.countOf(v.id()) > 0) {
            throw VolumeException.invalidVolume("Volume " + v.id() + " still has dependent snapshots.");
        }
        volumes.transition(v.id(), DELETABLE, VolumeStatus.DELETING);
        work(v.id(), VolumeStatus.ERROR_DELETING, () -> {
            pool.deleteVolume(v.id());
            volumes.delete(v.id());
        });
    }

    /** Grows an available volume ({@code os-extend}). */
    public void extend(Volume v, int newSizeGb) {
        if (newSizeGb <= v.sizeGb()) {
            throw VolumeException.invalid("Invalid input received: New size for extend must be greater than"
                    + " current size. (current: " + v.sizeGb() + ", extended: " + newSizeGb + ").");
        }
        long[] used = volumes.usage(v.projectId());
        quotas.check(v.projectId(), "gigabytes", used[1] + snapshots.usage(v.projectId())[1], newSizeGb - v.sizeGb());
        volumes.transition(v.id(), EnumSet.of(VolumeStatus.AVAILABLE), VolumeStatus.EXTENDING);
        work(v.id(), VolumeStatus.ERROR_EXTENDING, () -> {
            pool.resize(v.id(), (long) newSizeGb << 30);
            volumes.setSize(v.id(), newSizeGb);
            volumes.transition(v.id(), EnumSet.of(VolumeStatus.EXTENDING), VolumeStatus.AVAILABLE);
        });
    }

    /**
     * Uploads the volume's data as a new image ({@code os-volume_upload_image}); returns the image's
     * id. The volume is {@code uploading} until the data is in, then back where it was.
     */
    public String upload(Asker asker, Volume v, String imageName, String diskFormat, String containerFormat,
                         boolean force, Map<String, Object> extra) {
        if (!"raw".equals(diskFormat) && !"qcow2".equals(diskFormat)) {
            throw VolumeException.invalid("Invalid input received: disk_format " + diskFormat + " is not supported"
                    + " (raw or qcow2).");
        }
        VolumeStatus back = v.status();
        Set<VolumeStatus> from = force ? EnumSet.of(VolumeStatus.AVAILABLE, VolumeStatus.IN_USE)
                : EnumSet.of(VolumeStatus.AVAILABLE);
        volumes.transition(v.id(), from, VolumeStatus.UPLOADING);
        String imageId;
        try {
            Map<String, Object> fields = new LinkedHashMap<>(extra);
            fields.put("name", imageName);
            fields.put("disk_format", diskFormat);
            fields.put("container_format", containerFormat);
            imageId = images.create(asker.token(), fields);
        } catch (RuntimeException e) {
            volumes.tryTransition(v.id(), EnumSet.of(VolumeStatus.UPLOADING), back);
            throw e;
        }
        worker.execute(() -> {
            Path tmp = null;
            try {
                tmp = PrivateFiles.createTempFile(pool.dir(), ".upload-", "." + diskFormat);
                Files.delete(tmp);
                pool.export(v.id(), tmp, diskFormat);
                images.upload(imageId, tmp);
            } catch (IOException | RuntimeException e) {
                LOG.warnf("uploading volume %s to image %s failed: %s", v.id(), imageId, e.getMessage());
            } finally {
                deleteQuietly(tmp);
                volumes.tryTransition(v.id(), EnumSet.of(VolumeStatus.UPLOADING), back);
            }
        });
        return imageId;
    }

    /** Snapshots a volume: an available one, or one in use with {@code force}. */
    public Snapshot snapshot(Asker asker, Volume v, String name, String description, Map<String, String> metadata,
                             boolean force) {
        if (v.status() != VolumeStatus.AVAILABLE && !(force && v.status() == VolumeStatus.IN_USE)) {
            throw VolumeException.invalidVolume("Volume " + v.id() + " status must be available"
                    + (force ? " or in-use" : "") + ", but the current status is: " + v.status().apiName() + ".");
        }
        long[] used = snapshots.usage(v.projectId());
        quotas.check(v.projectId(), "snapshots", used[0], 1);
        quotas.check(v.projectId(), "gigabytes", used[1] + volumes.usage(v.projectId())[1], v.sizeGb());
        Snapshot s = snapshots.create(v, v.projectId(), asker.userId(), name, description, metadata);
        worker.execute(() -> {
            try {
                pool.snapshot(v.id(), s.id());
                snapshots.transition(s.id(), Snapshot.CREATING, Snapshot.AVAILABLE);
            } catch (RuntimeException e) {
                LOG.warnf("snapshot %s of volume %s failed: %s", s.id(), v.id(), e.getMessage());
                snapshots.fail(s.id(), Snapshot.ERROR, String.valueOf(e.getMessage()));
            }
        });
        return snapshots.get(s.id());
    }

    public void deleteSnapshot(Snapshot s) {
        if (!snapshots.transition(s.id(), Snapshot.AVAILABLE, Snapshot.DELETING)
                && !snapshots.transition(s.id(), Snapshot.ERROR, Snapshot.DELETING)
                && !snapshots.transition(s.id(), Snapshot.ERROR_DELETING, Snapshot.DELETING)) {
            throw VolumeException.invalid("Invalid snapshot: Snapshot status must be available or error and must"
                    + " not be part of a group, but it is " + snapshots.get(s.id()).status() + ".");
        }
        worker.execute(() -> {
            try {
                pool.deleteSnapshot(s.id());
                snapshots.delete(s.id());
            } catch (RuntimeException e) {
                snapshots.fail(s.id(), Snapshot.ERROR_DELETING, String.valueOf(e.getMessage()));
            }
        });
    }

    public Volume visibleVolume(Asker asker, String id) {
        return volumes.find(id).filter(v -> asker.admin() || v.projectId().equals(asker.projectId()))
                .orElseThrow(() -> VolumeException.notFound("Volume", id));
    }

    public Snapshot visibleSnapshot(Asker asker, String id) {
        return snapshots.find(id).filter(s -> asker.admin() || s.projectId().equals(asker.projectId()))
                .orElseThrow(() -> VolumeException.notFound("Snapshot", id));
    }

    /** Runs {@code task} on the worker; a failure puts the volume in {@code error} with the reason. */
    private void work(String volumeId, VolumeStatus error, Runnable task) {
        work(volumeId, error, task, () -> { });
    }

    private void work(String volumeId, VolumeStatus error, Runnable task, Runnable then) {
        worker.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.warnf("volume %s: %s", volumeId, e.getMessage());
                volumes.fail(volumeId, error, String.valueOf(e.getMessage()));
            } finally {
                then.run();
            }
        });
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a stray temporary file in the pool is only space
            }
        }
    }
}
