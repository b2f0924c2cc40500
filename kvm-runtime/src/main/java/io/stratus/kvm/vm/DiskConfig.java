package io.stratus.kvm.vm;

import io.stratus.kvm.virtio.block.DiskFormat;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A disk image attached as virtio-blk.
 *
 * @param id     the serial the guest reads (up to 20 ASCII characters; by default the file name)
 * @param format how to read the file: a format recorded by whoever made the disk, or
 *               {@link DiskFormat#PROBE} for a file a user names (a raw disk whose guest wrote a
 *               qcow2 header into it would be taken for qcow2 on its next boot: CVE-2008-2004)
 */
public record DiskConfig(Path path, boolean readOnly, String id, DiskFormat format) {
    public DiskConfig {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(format, "format");
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
}
