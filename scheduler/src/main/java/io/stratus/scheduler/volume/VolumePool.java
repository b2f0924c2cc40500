package io.stratus.scheduler.volume;

import io.stratus.database.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The volumes' data: one qcow2 file per volume and one per snapshot in a directory (0700, files
 * 0600, since they are tenants' data). A snapshot is a full copy, not a qcow2 layer: snapshots and
 * volumes made from them then live and die independently (Cinder lets a volume made from a
 * snapshot outlive it, and deleting a layer others are built on would need a rebase while they are
 * exported). The cost is space and copy time, which Ceph RBD's copy-on-write clones remove when
 * the pool grows into it.
 */
public final class VolumePool {
    private final Path dir;
    private final QemuImg qemuImg;

    /** @param qemuImg the {@code qemu-img} binary to run */
    public VolumePool(Path dir, String qemuImg) {
        this.dir = dir;
        this.qemuImg = new QemuImg(qemuImg);
    }

    /** Creates the pool's directory (0700) if it is missing. */
    public VolumePool open() {
        try {
            PrivateFiles.directory(dir);
        } catch (IOException e) {
            throw VolumeException.failed("cannot create the volume pool " + dir + ": " + e.getMessage(), e);
        }
        return this;
    }

    public Path dir() {
        return dir;
    }

    public Path volumeFile(String volumeId) {
        return dir.resolve("volume-" + checked(volumeId) + ".qcow2");
    }

    public Path snapshotFile(String snapshotId) {
        return dir.resolve("snapshot-" + checked(snapshotId) + ".qcow2");
    }

    /** An empty volume of {@code bytes}. */
    public void createEmpty(String volumeId, long bytes) {
        make(volumeFile(volumeId), tmp -> qemuImg.create(tmp, bytes));
    }

    /** A volume holding a copy of another volume (a clone), grown to {@code bytes}. */
    public void cloneVolume(String sourceId, String volumeId, long bytes) {
        copy(volumeFile(sourceId), "qcow2", volumeFile(volumeId), bytes);
    }

    /** A volume holding a snapshot's data, grown to {@code bytes}. */
    public void fromSnapshot(String snapshotId, String volumeId, long bytes) {
        copy(snapshotFile(snapshotId), "qcow2", volumeFile(volumeId), bytes);
    }

    /**
     * A volume holding an image's data ({@code format}: Glance's disk_format, raw or qcow2), grown
     * to {@code bytes}.
     *
     * @throws VolumeException INVALID when the image is larger than the volume
     */
    public void fromImage(Path image, String format, String volumeId, long bytes) {
        copy(image, format, volumeFile(volumeId), bytes);
    }

    /** A snapshot: a copy of the volume as it is now. */
    public void snapshot(String volumeId, String snapshotId) {
        make(snapshotFile(snapshotId), tmp -> qemuImg.convert(volumeFile(volumeId), "qcow2", tmp, "qcow2"));
    }

    /** Writes the volume's data to {@code out} in {@code format} (raw or qcow2), for an image upload. */
    public void export(String volumeId, Path out, String format) {
        qemuImg.convert(volumeFile(volumeId), "qcow2", out, format);
    }

    /** Grows a volume to {@code bytes}. */
    public void resize(String volumeId, long bytes) {
        qemuImg.resize(volumeFile(volumeId), bytes);
    }

    /** The size the guest sees. */
    public long virtualSize(String volumeId) {
        return qemuImg.virtualSize(volumeFile(volumeId), "qcow2");
    }

    public void deleteVolume(String volumeId) {
        delete(volumeFile(volumeId));
    }

    public void deleteSnapshot(String snapshotId) {
        delete(snapshotFile(snapshotId));
    }

    public boolean hasVolume(String volumeId) {
        return Files.exists(volumeFile(volumeId));
    }

    private void copy(Path from, String format, Path to, long bytes) {
        make(to, tmp -> {
            long size = qemuImg.virtualSize(from, format);
            if (size > bytes) {
                throw VolumeException.invalid("the source's " + size + " bytes do not fit the volume's " + bytes);
            }
            qemuImg.convert(from, format, tmp, "qcow2");
            if (size < bytes) {
                qemuImg.resize(tmp, bytes);
            }
        });
    }

    /** Makes {@code file} under a temporary name and moves it in place, so no half-made file has its name. */
    private void make(Path file, java.util.function.Consumer<Path> maker) {
        Path tmp = null;
        try {
            tmp = PrivateFiles.createTempFile(dir, ".making-", ".qcow2");
            // qemu-img creates the file anew, with the process's umask: remove ours and fix the mode after.
            Files.delete(tmp);
            maker.accept(tmp);
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw VolumeException.failed("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the next sweep of the directory finds it
                }
            }
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw VolumeException.failed("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }

    /** Ids become file names: nothing but a UUID's characters. */
    private static String checked(String id) {
        if (!id.matches("[0-9a-fA-F-]{1,64}")) {
            throw VolumeException.invalid("not a volume or snapshot id: " + id);
        }
        return id;
    }
}
