package io.stratus.kvm.virtio.block;

/** How a disk image file is to be read. */
public enum DiskFormat {
    RAW,
    QCOW2,
    /** By the file's first bytes: only for files whose format nobody recorded. */
    PROBE
}
