package io.stratus.agent.boot;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.DiskImageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Optional;

/**
 * A qcow2 image, read through kvm-runtime's qcow2 reader (the one guests' disks use), which checks
 * the header and tables as it opens them. An image that names a backing file is refused before it
 * is opened: the name is the uploader's, and would open a file of this host.
 */
final class Qcow2Disk implements DiskReader {
    private static final int BACKING_OFFSET_FIELD = 8;
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

    private final DiskImage image;
    private final Memory buffer = new Memory(SparseCopy.BLOCK);

    private Qcow2Disk(DiskImage image) {
        this.image = image;
    }

    /** Whether {@code file} starts as a qcow2 image does (its format told by its first bytes). */
    static boolean isQcow2(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(QCOW2_MAGIC.length), QCOW2_MAGIC);
        }
    }

    static Qcow2Disk open(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(BACKING_OFFSET_FIELD + 8);
        }
        if (head.length == BACKING_OFFSET_FIELD + 8 && ByteBuffer.wrap(head).getLong(BACKING_OFFSET_FIELD) != 0) {
            throw new NotBootableException("the qcow2 image names a backing file: upload it whole"
                    + " (qemu-img convert -O qcow2 flattens it)");
        }
        try {
            return new Qcow2Disk(DiskImage.open(file, true, DiskFormat.QCOW2));
        } catch (DiskImageException e) {
            // The reader names the file by its host path, which is no business of the image's owner.
            throw new NotBootableException(String.valueOf(e.getMessage()).replace("disk image " + file,
                    "the qcow2 image").replace(file.toString(), "the image"));
        }
    }

    @Override
    public long size() {
        return image.capacity();
    }

    @Override
    public void read(long offset, byte[] into, int length) throws IOException {
        checkRange(offset, length);
        int done = 0;
        while (done < length) {
            int n = (int) Math.min(length - done, buffer.size());
            // Safe because: buffer is this reader's own native block of buffer.size() bytes, alive
            // until close, and DiskImage.read writes at most the n bytes it is given into it.
            image.read(new long[] {Pointer.nativeValue(buffer)}, new long[] {n}, 1, offset + done);
            buffer.read(0, into, done, n);
            done += n;
        }
    }

    @Override
    public Optional<Path> rawFile() {
        return Optional.empty();
    }

    /** Reads only the blocks with clusters of the image's own: the rest read as zeros. */
    @Override
    public void copyOut(long offset, long length, Path target) throws IOException {
        checkRange(offset, length);
        BitSet own = image.ownBlocks(SparseCopy.BLOCK);
        SparseCopy.copy(this::read, offset, length, target, at -> own.get((int) (at / SparseCopy.BLOCK)));
    }

    @Override
    public void close() {
        image.close();
        buffer.close();
    }
}
