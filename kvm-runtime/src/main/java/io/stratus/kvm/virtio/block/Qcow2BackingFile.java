package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The raw base under a qcow2 overlay, opened read-only with a shared lock so that any number of
 * overlays can share it while nothing writes it. Clusters the overlay does not have read from
 * here, and as zeros past its end.
 *
 * @param path the name the overlay stores, resolved against the overlay's directory
 */
record Qcow2BackingFile(LockedFile file, Path path, long size) {

    /**
     * Resolves, checks and opens the backing file {@code header} names. A base that is not raw
     * (by its format extension, or by its first bytes when the overlay names no format), a json:
     * specification, and anything but a regular file are refused with a {@link DiskImageException}.
     *
     * @param where the overlay, as messages name it ("disk image /path")
     */
    static Qcow2BackingFile open(Path overlay, Qcow2Header header, String where) throws IOException {
        Path path = resolve(overlay, header.backingFile(), where);
        String format = header.backingFormat();
        if (format != null && !format.equals("raw")) {
            throw new DiskImageException(where + " has a " + format + " backing file " + path
                    + "; only raw backing files are supported"
                    + (format.equals("qcow2") ? " (qemu-img convert -O raw makes one)" : ""));
        }
        if (Files.exists(path) && !Files.isDirectory(path) && !Files.isRegularFile(path)) {
            // A FIFO or device could block the open or have no size: bases are plain files.
            throw new DiskImageException(where + " has a backing file " + path + " that is not a regular file");
        }
        LockedFile file;
        try {
            file = LockedFile.open(path, true);
        } catch (DiskImageException e) {
            throw new DiskImageException(where + " cannot use its backing file: " + e.getMessage());
        }
        try {
            if (format == null) {
                ByteBuffer magic = ByteBuffer.allocate(4);
                if (file.readAt(magic, 0) == 4 && magic.getInt(0) == Qcow2Header.MAGIC) {
                    throw new DiskImageException(where + " has a qcow2 backing file " + path
                            + "; only raw backing files are supported (qemu-img convert -O raw makes one)");
                }
            }
            return new Qcow2BackingFile(file, path, file.size());
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static Path resolve(Path overlay, String name, String where) {
        if (name.startsWith("json:")) {
            throw new DiskImageException(where + " names its backing file with a json: specification,"
                    + " which is not supported");
        }
        try {
            Path p = Path.of(name);
            if (p.isAbsolute()) {
                return p;
            }
            Path dir = overlay.toAbsolutePath().getParent();
            return dir == null ? p : dir.resolve(p);
        } catch (InvalidPathException e) {
            throw new DiskImageException(where + " has an unusable backing file name: " + e.getMessage());
        }
    }

    /** Reads {@code [position, position + sum(lengths))} of the base into host buffers. */
    void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
        file.host.readVectored(addresses, lengths, count, position);
    }

    void close() {
        file.close();
    }
}
