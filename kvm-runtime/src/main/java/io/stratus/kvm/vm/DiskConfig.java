package io.stratus.kvm.vm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A raw disk image attached as virtio-blk.
 *
 * @param id the serial the guest reads (up to 20 ASCII characters; by default the file name)
 */
public record DiskConfig(Path path, boolean readOnly, String id) {
    public DiskConfig {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(id, "id");
    }

    public static DiskConfig of(Path path, boolean readOnly) {
        Path name = path.getFileName();
        String id = (name == null ? "disk" : name.toString()).replaceAll("[^\\x20-\\x7e]", "_");
        return new DiskConfig(path, readOnly, id.length() > 20 ? id.substring(0, 20) : id);
    }
}
