package io.stratus.kvm.virtio.block;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;

/**
 * Drives qcow2 open and I/O with arbitrary damage to an image's header, extensions, L1 table, L2
 * table, refcount table and refcount block. Whatever the bytes, open gives an image or a
 * {@link DiskImageException}, and requests succeed or throw {@link IOException}; nothing else.
 */
class Qcow2FuzzTest {
    private static final Path DIR;
    private static final byte[] PRISTINE;
    /** [offset, length] of each metadata structure of PRISTINE the fuzzer may overwrite. */
    private static final int[][] REGIONS;

    static {
        try {
            DIR = Files.createTempDirectory("qcow2-fuzz");
            byte[] base = new byte[256 << 10];
            new java.util.Random(1).nextBytes(base);
            Files.write(DIR.resolve("base.raw"), base);
            Path image = DIR.resolve("pristine.qcow2");
            Qcow2Image.create(image, DIR.resolve("base.raw"), 64L << 20);
            try (DiskImage disk = DiskImage.open(image, false); Memory data = new Memory(100_000)) {
                data.clear();
                disk.write(new long[] {Pointer.nativeValue(data)}, new long[] {100_000}, 1, 5000);
                disk.zero(1L << 20, 64 << 10);
            }
            PRISTINE = Files.readAllBytes(image);
            ByteBuffer b = ByteBuffer.wrap(PRISTINE);
            int l1 = (int) b.getLong(40);
            int l2 = (int) (b.getLong(l1) & Qcow2Image.OFFSET_MASK);
            int refcountTable = (int) b.getLong(48);
            int refcountBlock = (int) b.getLong(refcountTable);
            REGIONS = new int[][] {{0, 112}, {112, 400}, {l1, 64}, {l2, 256}, {refcountTable, 64}, {refcountBlock, 64}};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void removeFiles() throws IOException {
        try (Stream<Path> files = Files.walk(DIR)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @FuzzTest(maxDuration = "30s")
    void damagedImagesFailOnlyWithDiskImageOrIoExceptions(FuzzedDataProvider data) throws IOException {
        byte[] image = PRISTINE.clone();
        for (int changes = data.consumeInt(1, 6); changes > 0 && data.remainingBytes() > 2; changes--) {
            int[] region = REGIONS[data.consumeInt(0, REGIONS.length - 1)];
            int at = region[0] + data.consumeInt(0, region[1] - 1);
            byte[] bytes = data.consumeBytes(Math.min(16, region[0] + region[1] - at));
            System.arraycopy(bytes, 0, image, at, bytes.length);
        }
        Path file = DIR.resolve("damaged.qcow2");
        Files.write(file, image);
        DiskImage disk;
        try {
            disk = DiskImage.open(file, data.consumeBoolean());
        } catch (DiskImageException refused) {
            return;
        }
        try (disk; Memory buffer = new Memory(256 << 10)) {
            long[] address = {Pointer.nativeValue(buffer)};
            for (int i = 0; i < 4 && data.remainingBytes() > 0; i++) {
                long position = Math.min(data.consumeLong(0, disk.capacity() - 512), disk.capacity() - 512);
                long length = Math.min(data.consumeInt(1, 256 << 10), disk.capacity() - position);
                try {
                    switch (data.consumeInt(0, 3)) {
                        case 0 -> disk.read(address, new long[] {length}, 1, position);
                        case 1 -> disk.write(address, new long[] {length}, 1, position);
                        case 2 -> disk.zero(position, length);
                        default -> disk.flush();
                    }
                } catch (IOException expected) {
                    // A request that met the damage, or a write to a read-only image.
                }
            }
        }
    }
}
