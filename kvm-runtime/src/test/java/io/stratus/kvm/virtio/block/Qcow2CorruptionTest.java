package io.stratus.kvm.virtio.block;

import static io.stratus.kvm.virtio.block.QemuImg.QEMU_IMG;
import static io.stratus.kvm.virtio.block.QemuImg.QEMU_IO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt and hostile qcow2 images: each one is refused at open with a {@link DiskImageException},
 * or opens and fails the requests it spoils with an {@link IOException}; no other exception, no
 * hang, no huge allocation.
 */
@Timeout(120)
class Qcow2CorruptionTest {
    private static final int CLUSTER = Qcow2Image.CLUSTER_SIZE;

    @TempDir
    Path dir;
    private Path pristine;
    private long fileSize;

    /** An overlay with data in two L2 tables' worth of clusters, over a base. */
    @BeforeEach
    void makeImage() throws Exception {
        QemuImg.assumeInstalled();
        Random r = new Random(1);
        byte[] base = new byte[1 << 20];
        r.nextBytes(base);
        Files.write(dir.resolve("base.raw"), base);
        pristine = dir.resolve("pristine.qcow2");
        Qcow2Image.create(pristine, dir.resolve("base.raw"), 1L << 30);
        try (DiskImage disk = DiskImage.open(pristine, false)) {
            Qcow2ImageTest.write(disk, 1000, new byte[200_000], r);
            Qcow2ImageTest.write(disk, (512L << 20) + 4096, new byte[70_000], r);
            disk.zero(128L << 10, 64L << 10);
        }
        QemuImg.assertClean(pristine);
        fileSize = Files.size(pristine);
    }

    private Path corrupt(String name, Consumer<ByteBuffer> change) throws IOException {
        Path p = dir.resolve(name + ".qcow2");
        Files.copy(pristine, p, StandardCopyOption.REPLACE_EXISTING);
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(p));
        change.accept(all);
        Files.write(p, all.array());
        return p;
    }

    private long l1Offset() throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(pristine)).getLong(40);
    }

    private long l2Offset(ByteBuffer b, int l1Index) {
        return b.getLong((int) b.getLong(40) + 8 * l1Index) & Qcow2Image.OFFSET_MASK;
    }

    private void refusedAtOpen(String what, Consumer<ByteBuffer> change, String message) throws IOException {
        Path p = corrupt(what, change);
        assertThatThrownBy(() -> DiskImage.open(p, false)).as(what).isInstanceOf(DiskImageException.class)
                .hasMessageContaining(message);
    }

    @Test
    void corruptHeadersAreRefusedAtOpenNamingTheProblem() throws IOException {
        refusedAtOpen("version", b -> b.putInt(4, 4), "version 4");
        refusedAtOpen("small-clusters", b -> b.putInt(20, 8), "cluster_bits 8");
        refusedAtOpen("huge-clusters", b -> b.putInt(20, 22), "cluster_bits 22");
        refusedAtOpen("negative-clusters", b -> b.putInt(20, -1), "cluster_bits");
        refusedAtOpen("zero-size", b -> b.putLong(24, 0), "smaller than one 512-byte sector");
        refusedAtOpen("huge-size", b -> b.putLong(24, 1L << 62), "64 TiB");
        refusedAtOpen("negative-size", b -> b.putLong(24, -512), "64 TiB");
        refusedAtOpen("no-l1", b -> b.putInt(36, 0), "too small");
        refusedAtOpen("l1-absurd", b -> {
            b.putLong(24, 64L << 40);
            b.putInt(36, -1);
        }, "more than 32 MiB");
        refusedAtOpen("l1-past-end", b -> b.putLong(40, fileSize + CLUSTER), "beyond the end of the file");
        refusedAtOpen("l1-misaligned", b -> b.putLong(40, 3 * CLUSTER + 8), "not a cluster boundary");
        refusedAtOpen("l1-at-zero", b -> b.putLong(40, 0), "not a cluster boundary");
        refusedAtOpen("l1-size-past-end", b -> {
            b.putLong(24, 64L << 40);
            b.putInt(36, 1 << 20);
        }, "beyond the end of the file");
        refusedAtOpen("refcount-table-past-end", b -> b.putLong(48, 1L << 50), "beyond the end of the file");
        refusedAtOpen("refcount-table-misaligned", b -> b.putLong(48, 100), "not a cluster boundary");
        refusedAtOpen("refcount-table-empty", b -> b.putInt(56, 0), "refcount table of 0 clusters");
        refusedAtOpen("refcount-table-absurd", b -> b.putInt(56, Integer.MAX_VALUE), "1 to 8 MiB");
        refusedAtOpen("encrypted", b -> b.putInt(32, 1), "encrypted");
        refusedAtOpen("corrupt-bit", b -> b.putLong(72, 2), "marked corrupt");
        refusedAtOpen("unknown-incompatible", b -> b.putLong(72, 1L << 40), "unknown incompatible");
        refusedAtOpen("compression-type", b -> b.put(104, (byte) 1), "compression type 1");
        refusedAtOpen("header-length-odd", b -> b.putInt(100, 107), "header length");
        refusedAtOpen("header-length-huge", b -> b.putInt(100, 1 << 30), "header length");
        refusedAtOpen("refcount-order", b -> b.putInt(96, 7), "refcount_order");
        refusedAtOpen("backing-name-long", b -> b.putInt(16, 5000), "5000 bytes");
        refusedAtOpen("backing-name-outside", b -> b.putLong(8, CLUSTER - 10), "outside the first cluster");
        refusedAtOpen("backing-name-negative", b -> b.putLong(8, -1), "outside the first cluster");
        refusedAtOpen("backing-missing", b -> b.put((int) b.getLong(8) + b.getInt(16) - 1, (byte) 'X'), "does not exist");
        refusedAtOpen("backing-not-utf8", b -> b.put((int) b.getLong(8), (byte) 0xff), "not UTF-8");
        refusedAtOpen("backing-is-a-directory", b -> {
            int at = (int) b.getLong(8);
            byte[] name = dir.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            b.put(at, name);
            b.putInt(16, name.length);
        }, "is a directory");
        refusedAtOpen("backing-format", b -> b.put(Qcow2Header.WRITTEN_LENGTH + 8, (byte) 'v'), "vaw backing file");
        refusedAtOpen("extension-overrun", b -> b.putInt(Qcow2Header.WRITTEN_LENGTH + 4, -1), "runs past");
        refusedAtOpen("external-data-extension", b -> b.putInt(Qcow2Header.WRITTEN_LENGTH, 0x44415441),
                "external data file");
        refusedAtOpen("l2-past-end", b -> b.putLong((int) b.getLong(40), (1L << 40) | Qcow2Image.COPIED),
                "beyond the end of the file");
        refusedAtOpen("l2-misaligned", b -> b.putLong((int) b.getLong(40), l2Offset(b, 0) + 512), "not cluster-aligned");
        refusedAtOpen("compressed-cluster", b -> {
            int at = (int) l2Offset(b, 0);
            b.putLong(at, b.getLong(at) | Qcow2Image.COMPRESSED);
        }, "compressed clusters");
    }

    @Test
    void corruptEntriesFailOnlyTheRequestsThatMeetThem() throws Exception {
        Path misaligned = corrupt("data-misaligned", b -> {
            int at = (int) l2Offset(b, 0);
            b.putLong(at, b.getLong(at) + 512);
        });
        Path beyond = corrupt("data-beyond", b -> b.putLong((int) l2Offset(b, 0) + 8, Qcow2Image.COPIED | (1L << 45)));
        for (Path p : List.of(misaligned, beyond)) {
            try (DiskImage disk = DiskImage.open(p, false)) {
                Random r = new Random();
                int cluster = p == misaligned ? 0 : 1;
                assertThatThrownBy(() -> Qcow2ImageTest.read(disk, (long) cluster * CLUSTER, 512, r))
                        .isInstanceOf(IOException.class).hasMessageContaining("corrupt image");
                assertThatThrownBy(() -> Qcow2ImageTest.write(disk, (long) cluster * CLUSTER, new byte[512], r))
                        .isInstanceOf(IOException.class);
                assertThat(Qcow2ImageTest.read(disk, 4L * CLUSTER, 512, r)).as("other clusters still read").hasSize(512);
                Qcow2ImageTest.write(disk, 600L << 20, new byte[4096], r);
            }
        }
        Path refcounts = corrupt("refcount-block-beyond", b -> b.putLong((int) b.getLong(48), 1L << 40));
        try (DiskImage disk = DiskImage.open(refcounts, false)) {
            Random r = new Random();
            assertThat(Qcow2ImageTest.read(disk, 0, 4096, r)).hasSize(4096);
            assertThatThrownBy(() -> Qcow2ImageTest.write(disk, 300L << 20, new byte[4096], r))
                    .as("a write that allocates needs the refcount block").isInstanceOf(IOException.class)
                    .hasMessageContaining("refcount block");
            Qcow2ImageTest.write(disk, 2000, new byte[4096], r);
        }
    }

    /**
     * Random damage to every metadata structure of images made here and by qemu: whatever it
     * does, opening, reading, writing, zeroing, flushing and closing give a DiskImageException
     * or IOExceptions only.
     */
    @Test
    void randomDamageToMetadataOnlyEverFailsCleanly() throws Exception {
        List<Path> sources = new ArrayList<>(List.of(pristine));
        if (QemuImg.hasQemuIo()) {
            Path small = dir.resolve("small-clusters.qcow2");
            QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "-b", dir.resolve("base.raw"),
                    "-F", "raw", small, "16M");
            QemuImg.ok(QEMU_IO, "-f", "qcow2", "-c", "write -P 1 0 300k", "-c", "write -z 1M 64k",
                    "-c", "write -P 2 9M 1M", small);
            sources.add(small);
        }
        Random r = new Random(Long.getLong("stratus.qcow2.damageSeed", 42));
        int refused = 0;
        int opened = 0;
        for (int round = 0; round < Integer.getInteger("stratus.qcow2.damageRounds", 300); round++) {
            Path source = sources.get(round % sources.size());
            byte[] bytes = Files.readAllBytes(source);
            ByteBuffer b = ByteBuffer.wrap(bytes);
            List<int[]> metadata = metadataRanges(b);
            for (int damage = 1 + r.nextInt(3); damage > 0; damage--) {
                int[] range = metadata.get(r.nextInt(metadata.size()));
                int at = range[0] + r.nextInt(Math.max(1, range[1] - 8)) / 8 * 8;
                switch (r.nextInt(4)) {
                    case 0 -> bytes[at + r.nextInt(8)] ^= (byte) (1 << r.nextInt(8));
                    case 1 -> b.putLong(at, r.nextLong());
                    case 2 -> b.putLong(at, interesting(r, bytes.length));
                    default -> b.putInt(at + 4 * r.nextInt(2), (int) interesting(r, bytes.length));
                }
            }
            Path damaged = dir.resolve("damaged.qcow2");
            Files.write(damaged, bytes);
            DiskImage disk;
            try {
                disk = DiskImage.open(damaged, false);
            } catch (DiskImageException e) {
                refused++;
                continue;
            }
            opened++;
            try (disk) {
                exercise(disk, r);
            }
        }
        assertThat(refused).as("some damage is seen at open").isPositive();
        assertThat(opened).as("some damage is only met by requests").isPositive();
    }

    private static long interesting(Random r, long fileSize) {
        long[] values = {0, 1, -1, 512, CLUSTER, CLUSTER + 512, fileSize, fileSize - CLUSTER, fileSize + CLUSTER,
            1L << 55, 1L << 62, Long.MIN_VALUE, Integer.MAX_VALUE, 0xffff_ffffL, 3L * CLUSTER, 2L * CLUSTER};
        long v = values[r.nextInt(values.length)];
        return r.nextBoolean() ? v : v | Qcow2Image.COPIED;
    }

    /** [offset, length] of the header cluster's fields, the L1 table, refcount table and blocks, and L2 tables. */
    private static List<int[]> metadataRanges(ByteBuffer b) {
        int cluster = 1 << b.getInt(20);
        List<int[]> ranges = new ArrayList<>();
        ranges.add(new int[] {0, 112});
        ranges.add(new int[] {112, 64});
        int l1 = (int) b.getLong(40);
        int l1Size = b.getInt(36);
        ranges.add(new int[] {l1, Math.max(8, Math.min(l1Size * 8, 4096))});
        int refcountTable = (int) b.getLong(48);
        ranges.add(new int[] {refcountTable, 64});
        int block = (int) (b.getLong(refcountTable) & Qcow2Image.REFCOUNT_TABLE_OFFSET_MASK);
        if (block > 0 && block < b.capacity() - 64) {
            ranges.add(new int[] {block, 64});
        }
        for (int i = 0; i < Math.min(l1Size, 64); i++) {
            long l2 = b.getLong(l1 + 8 * i) & Qcow2Image.OFFSET_MASK;
            if (l2 > 0 && l2 <= b.capacity() - cluster) {
                ranges.add(new int[] {(int) l2, Math.min(cluster, 4096)});
            }
        }
        return ranges;
    }

    private static void exercise(DiskImage disk, Random r) {
        long capacity = disk.capacity();
        for (int i = 0; i < 6; i++) {
            long at = Math.min(capacity - 70_000, i < 3 ? r.nextInt(2 << 20) : (long) (r.nextDouble() * capacity));
            at = Math.max(0, at) / 512 * 512;
            int length = (int) Math.min(capacity - at, 512 * (1 + r.nextInt(130)));
            try {
                Qcow2ImageTest.read(disk, at, length, r);
            } catch (IOException expected) {
                // The request met a corrupt entry.
            }
            try {
                if (r.nextBoolean()) {
                    Qcow2ImageTest.write(disk, at, new byte[length], r);
                } else {
                    disk.zero(at, length);
                }
            } catch (IOException expected) {
                // As above.
            }
        }
        try {
            disk.flush();
        } catch (IOException expected) {
            // Writing metadata back can meet the damage too.
        }
    }

    @Test
    void aQcow2TableOfHugeEntriesCountsIsNotAllocated() throws Exception {
        // An L1 of 4M entries is the most this VMM reads; the file must then hold 32 MiB of it.
        Path big = corrupt("l1-max", b -> {
            b.putLong(24, 64L << 40);
            b.putInt(36, 4 << 20);
        });
        try (FileChannel ch = FileChannel.open(big, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), l1Offset() + (32L << 20));
        }
        // The L1 now overlaps other metadata and data: open refuses it or reads it, never more.
        try {
            DiskImage.open(big, true).close();
        } catch (DiskImageException expected) {
            assertThat(expected.getMessage()).contains(big.toString());
        }
    }
}
