package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes new qcow2 overlays: an empty version 3 image over a raw base, laid out as cluster 0 the
 * header, 1 the refcount table, 2 its first refcount block, and from 3 the L1 table (all zeros, so
 * a hole). Everything else is allocated at the end as the guest writes.
 */
final class Qcow2Overlay {
    private Qcow2Overlay() {
    }

    /** See {@link Qcow2Image#create}. */
    static void create(Path overlay, Path backingRaw, long virtualSizeBytes) {
        String where = "disk image " + overlay;
        if (virtualSizeBytes < DiskImage.SECTOR_SIZE || virtualSizeBytes % DiskImage.SECTOR_SIZE != 0
                || virtualSizeBytes > Qcow2Header.MAX_VIRTUAL_SIZE) {
            throw new DiskImageException("cannot create " + where + ": its size must be a multiple of 512 bytes"
                    + " from 512 bytes to 64 TiB, not " + virtualSizeBytes);
        }
        String name = backingRaw.toString();
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > Qcow2Header.MAX_BACKING_NAME) {
            throw new DiskImageException("cannot create " + where + ": the backing file name must be 1 to "
                    + Qcow2Header.MAX_BACKING_NAME + " bytes");
        }
        Path base = backingRaw.isAbsolute() ? backingRaw
                : overlay.toAbsolutePath().getParent().resolve(backingRaw);
        if (!Files.isRegularFile(base)) {
            throw new DiskImageException("cannot create " + where + ": backing file " + base
                    + (Files.exists(base) ? " is not a regular file" : " does not exist"));
        }
        if (isQcow2(base)) {
            throw new DiskImageException("cannot create " + where + ": backing file " + base
                    + " is qcow2; only raw backing files are supported (qemu-img convert -O raw)");
        }
        int bits = Integer.numberOfTrailingZeros(Qcow2Image.CLUSTER_SIZE);
        long cluster = Qcow2Image.CLUSTER_SIZE;
        long l1Size = Math.max(1, (virtualSizeBytes + (cluster << (bits - 3)) - 1) >>> (2 * bits - 3));
        long l1Clusters = (l1Size * 8 + cluster - 1) / cluster;
        long clusters = 3 + l1Clusters;
        ByteBuffer header = Qcow2Header.write(bits, virtualSizeBytes, l1Size, 3 * cluster, cluster, 1, name, "raw");
        ByteBuffer refcountTable = ByteBuffer.allocate(Qcow2Image.CLUSTER_SIZE).putLong(0, 2 * cluster);
        ByteBuffer refcountBlock = ByteBuffer.allocate(Qcow2Image.CLUSTER_SIZE);
        for (int i = 0; i < clusters; i++) {
            refcountBlock.putShort(2 * i, (short) 1);
        }
        boolean created = false;
        try (FileChannel out = FileChannel.open(overlay, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            created = true;
            writeFully(out, header, 0);
            writeFully(out, refcountTable, cluster);
            writeFully(out, refcountBlock, 2 * cluster);
            // The L1 table is all zeros: a hole up to the file's end.
            writeFully(out, ByteBuffer.allocate(1), clusters * cluster - 1);
            out.force(true);
        } catch (FileAlreadyExistsException e) {
            throw new DiskImageException("cannot create " + where + ": it already exists");
        } catch (NoSuchFileException e) {
            throw new DiskImageException("cannot create " + where + ": its directory does not exist");
        } catch (IOException | SecurityException e) {
            if (created) {
                try {
                    Files.deleteIfExists(overlay);
                } catch (IOException ignored) {
                    // The half-written file stays; the error below says why.
                }
            }
            throw new DiskImageException("cannot create " + where + ": " + e.getMessage());
        }
        // The new name durable too, where the file system lets a directory be synced.
        try (FileChannel parent = FileChannel.open(overlay.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            parent.force(true);
        } catch (IOException | SecurityException ignored) {
            // The file itself is durable; only its name may need the next sync of the directory.
        }
    }

    private static boolean isQcow2(Path path) {
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer magic = ByteBuffer.allocate(4);
            while (magic.hasRemaining() && in.read(magic, magic.position()) > 0) {
                // Reads until 4 bytes or the end of the file.
            }
            return !magic.hasRemaining() && magic.getInt(0) == Qcow2Header.MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer b, long position) throws IOException {
        b.clear();
        long done = 0;
        while (b.hasRemaining()) {
            done += out.write(b, position + done);
        }
    }
}
