package io.stratus.kvm.vm;

import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.NbdVolume;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A disk attached as virtio-blk: an image file on this host, or a volume on an NBD server
 * ({@link #nbd}), whose data never lives here (a snapshot or a migration keeps where it is served,
 * not what it holds).
 *
 * @param path   the image file; for a disk on an NBD export, only a name for logs
 *               ({@code nbd:<server>/<export>}), never opened
 * @param id     the serial the guest reads (up to 20 ASCII characters; by default the file name, for a
 *               volume its id's first 20 characters)
 * @param format how to read the file: a format recorded by whoever made the disk, or
 *               {@link DiskFormat#PROBE} for a file a user names (a raw disk whose guest wrote a
 *               qcow2 header into it would be taken for qcow2 on its next boot: CVE-2008-2004)
 * @param volume the NBD export the disk's data is on; empty for an image file
 */
public record DiskConfig(Path path, boolean readOnly, String id, DiskFormat format, Optional<NbdVolume> volume) {
    public DiskConfig {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(volume, "volume");
        if (volume.isPresent() && (volume.get().readOnly() != readOnly || !volume.get().serial().equals(id))) {
            throw new IllegalArgumentException("a volume's disk takes its read-only flag and serial from the volume ("
                    + volume.get() + "), not " + readOnly + " and '" + id + "'");
        }
    }

    public DiskConfig(Path path, boolean readOnly, String id, DiskFormat format) {
        this(path, readOnly, id, format, Optional.empty());
    }

    public DiskConfig(Path path, boolean readOnly, String id) {
        this(path, readOnly, id, DiskFormat.PROBE);
    }

    public static DiskConfig of(Path path, boolean readOnly) {
        return of(path, readOnly, DiskFormat.PROBE);
    }

    public static DiskConfig of(Path path, boolean readOnly, DiskFormat format) {
        Path name = path.getFileName();
        String id = (name == null ? "disk" : name.toString()).replaceAll("[^\\x20-\\x7e]", "_");
        return new DiskConfig(path, readOnly, id.length() > 20 ? id.substring(0, 20) : id, format);
    }

    /**
     * A disk whose data is {@code volume}'s NBD export, connected when the VM is built (a server
     * that does not answer fails the build): a guest's root volume, say, which must be its first
     * disk (vda) where the volume slots come after the disks. Its serial is the volume id's first
     * 20 characters, as Nova's volumes appear ({@code /dev/disk/by-id/virtio-<prefix>}).
     */
    public static DiskConfig nbd(NbdVolume volume) {
        return new DiskConfig(Path.of("nbd:" + volume.server() + "/" + volume.export()), volume.readOnly(),
                volume.serial(), DiskFormat.RAW, Optional.of(volume));
    }

    /** Whether the disk's data is on an NBD server rather than in a file here. */
    public boolean onNbd() {
        return volume.isPresent();
    }
}
