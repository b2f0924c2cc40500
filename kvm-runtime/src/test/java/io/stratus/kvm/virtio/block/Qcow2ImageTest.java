package io.stratus.kvm.virtio.block;

import static io.stratus.kvm.virtio.block.QemuImg.QEMU_IMG;
import static io.stratus.kvm.virtio.block.QemuImg.QEMU_IO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * qcow2 overlays through {@link DiskImage}: checked against qemu-img (check, convert) and a model
 * of the disk (a byte array given the same writes), on images this VMM creates and images qemu made.
 */
@Timeout(120)
class Qcow2ImageTest {
    private static final int SECTOR = DiskImage.SECTOR_SIZE;

    @TempDir
    Path dir;

    @BeforeEach
    void requireQemuImg() {
        QemuImg.assumeInstalled();
    }

    // -------------------------------------------------------------------------------------------
    // Helpers: a disk model, scatter lists over native memory, random content.

    private static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private Path base(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    /** Splits {@code length} bytes of {@code memory} into up to {@code pieces} random buffers. */
    private static long[][] split(Memory memory, int length, int pieces, Random r) {
        List<Integer> cuts = new ArrayList<>();
        for (int i = 1; i < pieces && length > 1; i++) {
            cuts.add(1 + r.nextInt(length - 1));
        }
        cuts.add(0);
        cuts.add(length);
        int[] sorted = cuts.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
        long[] addresses = new long[sorted.length - 1];
        long[] lengths = new long[sorted.length - 1];
        for (int i = 0; i + 1 < sorted.length; i++) {
            addresses[i] = Pointer.nativeValue(memory) + sorted[i];
            lengths[i] = sorted[i + 1] - sorted[i];
        }
        return new long[][] {addresses, lengths};
    }

    static void write(DiskImage disk, long position, byte[] data, Random r) throws IOException {
        try (Memory m = new Memory(Math.max(1, data.length))) {
            m.write(0, data, 0, data.length);
            long[][] s = split(m, data.length, 1 + r.nextInt(4), r);
            disk.write(s[0], s[1], s[0].length, position);
        }
    }

    static byte[] read(DiskImage disk, long position, int length, Random r) throws IOException {
        try (Memory m = new Memory(Math.max(1, length))) {
            m.setMemory(0, Math.max(1, length), (byte) 0x6b);
            long[][] s = split(m, length, 1 + r.nextInt(4), r);
            disk.read(s[0], s[1], s[0].length, position);
            return m.getByteArray(0, length);
        }
    }

    static byte[] readAll(DiskImage disk) throws IOException {
        byte[] all = new byte[(int) disk.capacity()];
        Random r = new Random(1);
        int chunk = 3 << 20;
        for (int at = 0; at < all.length; at += chunk) {
            int n = Math.min(chunk, all.length - at);
            System.arraycopy(read(disk, at, n, r), 0, all, at, n);
        }
        return all;
    }

    /** The model of a disk over {@code base}: its content, then zeros up to {@code size}. */
    private static byte[] model(byte[] base, long size) {
        return Arrays.copyOf(base, (int) size);
    }

    private static void assertSameDisk(byte[] actual, byte[] expected, String what) {
        assertThat(actual.length).as(what + " size").isEqualTo(expected.length);
        int mismatch = Arrays.mismatch(actual, expected);
        assertThat(mismatch).as(what + ": first differing byte").isEqualTo(-1);
    }

    // -------------------------------------------------------------------------------------------
    // Creating overlays

    /**
     * A raw disk a guest wrote a qcow2 header into (naming a host file as its backing) is read raw
     * when its format is recorded: probing would take it for qcow2 (CVE-2008-2004).
     */
    @Test
    void aRecordedRawFormatIsNotProbed() throws Exception {
        Path disk = dir.resolve("disk.raw");
        ByteBuffer header = ByteBuffer.allocate(64 << 10);
        String backing = dir.resolve("host-secret").toString();
        header.putInt(Qcow2Image.MAGIC).putInt(3).putLong(512).putInt(backing.length()).putInt(16).putLong(1L << 30);
        header.position(512);
        header.put(backing.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Files.write(disk, header.array());
        try (DiskImage raw = DiskImage.open(disk, false, DiskFormat.RAW)) {
            assertThat(raw).isInstanceOf(RawImage.class);
            assertThat(raw.capacity()).isEqualTo(64 << 10);
        }
        assertThatThrownBy(() -> DiskImage.open(disk, false, DiskFormat.PROBE).close())
                .as("probed, the same bytes are a qcow2 image").isInstanceOf(DiskImageException.class);
    }

    @Test
    void createdOverlayIsTinyPassesQemuImgCheckAndReadsTheBase() throws Exception {
        Random r = new Random(7);
        byte[] content = random(r, (3 << 20) + 1234);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("disk.qcow2");
        Qcow2Image.create(overlay, base, 20L << 30);
        assertThat(Files.size(overlay)).as("file size").isLessThanOrEqualTo(256 * 1024);
        QemuImg.assertClean(overlay);
        String info = QemuImg.ok(QEMU_IMG, "info", "--output=json", overlay);
        assertThat(info).contains("\"virtual-size\": " + (20L << 30), "\"backing-filename\": \"" + base + "\"",
                "\"backing-filename-format\": \"raw\"", "\"cluster-size\": 65536", "\"compat\": \"1.1\"");
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            assertThat(disk).isInstanceOf(Qcow2Image.class);
            assertThat(((Qcow2Image) disk).backingFile()).contains(base);
            assertThat(disk.capacity()).isEqualTo(20L << 30);
            assertThat(read(disk, 0, content.length, r)).isEqualTo(content);
            assertThat(read(disk, content.length - 1000, 5000, r)).as("the base's end, then zeros")
                    .isEqualTo(Arrays.copyOfRange(content, content.length - 1000, content.length + 4000));
            assertThat(read(disk, (20L << 30) - 4096, 4096, r)).containsOnly(0);
        }
        assertThat(Files.readAllBytes(base)).isEqualTo(content);
    }

    @Test
    void createRefusesAnExistingOverlayAMissingOrQcow2BaseAndBadSizes() throws Exception {
        Path base = base("base.raw", new byte[4096]);
        Path overlay = dir.resolve("o.qcow2");
        Qcow2Image.create(overlay, base, 1 << 20);
        assertThatThrownBy(() -> Qcow2Image.create(overlay, base, 1 << 20)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("already exists");
        assertThatThrownBy(() -> Qcow2Image.create(dir.resolve("p.qcow2"), dir.resolve("nope.raw"), 1 << 20))
                .isInstanceOf(DiskImageException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> Qcow2Image.create(dir.resolve("q.qcow2"), overlay, 1 << 20))
                .isInstanceOf(DiskImageException.class).hasMessageContaining("is qcow2");
        assertThatThrownBy(() -> Qcow2Image.create(dir.resolve("s.qcow2"), base, 1000))
                .isInstanceOf(DiskImageException.class).hasMessageContaining("multiple of 512");
        assertThatThrownBy(() -> Qcow2Image.create(dir.resolve("t.qcow2"), base, 65L << 40))
                .isInstanceOf(DiskImageException.class).hasMessageContaining("64 TiB");
        assertThat(dir.resolve("p.qcow2")).doesNotExist();
    }

    @Test
    void relativeBackingNamesResolveAgainstTheOverlaysDirectory() throws Exception {
        byte[] content = random(new Random(3), 70000);
        base("rel.raw", content);
        Path overlay = dir.resolve("rel.qcow2");
        Qcow2Image.create(overlay, Path.of("rel.raw"), 1 << 20);
        try (DiskImage disk = DiskImage.open(overlay, true)) {
            assertThat(((Qcow2Image) disk).backingFile()).contains(dir.resolve("rel.raw"));
            assertThat(read(disk, 0, content.length, new Random())).isEqualTo(content);
        }
        assertThat(QemuImg.ok(QEMU_IMG, "info", overlay)).contains("backing file: rel.raw");
    }

    // -------------------------------------------------------------------------------------------
    // Writing, checked against qemu-img and the model

    @ParameterizedTest(name = "seed {0}")
    @CsvSource({"1", "2", "3"})
    void randomWritesAndZeroesLeaveACleanImageThatQemuReadsAsTheModel(long seed) throws Exception {
        Random r = new Random(seed);
        int baseSize = (3 << 20) + 1234;
        // The last cluster is partly past the disk's end.
        long size = (8L << 20) + 3 * SECTOR;
        byte[] content = random(r, baseSize);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("disk.qcow2");
        Qcow2Image.create(overlay, base, size);
        byte[] model = model(content, size);
        for (int round = 0; round < 4; round++) {
            try (DiskImage disk = DiskImage.open(overlay, false)) {
                for (int op = 0; op < 60; op++) {
                    int kind = r.nextInt(10);
                    boolean aligned = r.nextBoolean();
                    int length = switch (r.nextInt(4)) {
                        case 0 -> 1 + r.nextInt(SECTOR * 4);
                        case 1 -> 1 + r.nextInt(Qcow2Image.CLUSTER_SIZE * 2);
                        case 2 -> Qcow2Image.CLUSTER_SIZE * (1 + r.nextInt(4));
                        default -> 1 + r.nextInt(600_000);
                    };
                    long position;
                    if (aligned) {
                        length = Math.max(SECTOR, length / SECTOR * SECTOR);
                        position = (long) r.nextInt((int) ((size - length) / SECTOR) + 1) * SECTOR;
                    } else {
                        position = r.nextInt((int) (size - length) + 1);
                    }
                    if (r.nextInt(8) == 0) {
                        // Around the base's end, where reads switch from the base to zeros.
                        position = Math.max(0, Math.min(size - length, baseSize - r.nextInt(length + 1)));
                    }
                    if (kind < 7) {
                        byte[] data = random(r, length);
                        write(disk, position, data, r);
                        System.arraycopy(data, 0, model, (int) position, length);
                    } else if (kind < 9) {
                        disk.zero(position, length);
                        Arrays.fill(model, (int) position, (int) position + length, (byte) 0);
                    } else {
                        disk.flush();
                    }
                    if (op % 20 == 0) {
                        int at = r.nextInt((int) size - 100_000);
                        assertThat(read(disk, at, 100_000, r)).isEqualTo(Arrays.copyOfRange(model, at, at + 100_000));
                    }
                }
                assertSameDisk(readAll(disk), model, "read back before close, round " + round);
            }
            QemuImg.assertClean(overlay);
            assertSameDisk(QemuImg.contents(overlay, dir), model, "qemu-img convert, round " + round);
        }
        assertThat(Files.readAllBytes(base)).as("the base is never written").isEqualTo(content);
    }

    @Test
    void wholeClusterZeroesUseTheZeroFlagAndReleaseSpace() throws Exception {
        Random r = new Random(11);
        byte[] content = random(r, 1 << 20);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("z.qcow2");
        Qcow2Image.create(overlay, base, 2 << 20);
        byte[] model = model(content, 2 << 20);
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            byte[] data = random(r, 512 << 10);
            write(disk, 0, data, r);
            System.arraycopy(data, 0, model, 0, data.length);
            disk.flush();
            // Allocated clusters, clusters over the base, clusters past it: all read zeros afterwards.
            disk.zero(256 << 10, 1 << 20);
            Arrays.fill(model, 256 << 10, (256 << 10) + (1 << 20), (byte) 0);
            assertSameDisk(readAll(disk), model, "after zeroing");
            // A partial write into a zeroed cluster keeps the rest of it zero, not the base's bytes.
            byte[] small = random(r, 1000);
            write(disk, (768 << 10) + 5000, small, r);
            System.arraycopy(small, 0, model, (768 << 10) + 5000, 1000);
            assertSameDisk(readAll(disk), model, "after writing into a zeroed cluster");
        }
        QemuImg.assertClean(overlay);
        assertSameDisk(QemuImg.contents(overlay, dir), model, "qemu-img convert");
        String map = QemuImg.ok(QEMU_IMG, "map", "--output=json", overlay);
        assertThat(map).contains("\"zero\": true");
    }

    @Test
    void concurrentWritersOnSeveralQueuesKeepTheImageConsistent() throws Exception {
        Random seed = new Random(5);
        byte[] content = random(seed, 4 << 20);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("mt.qcow2");
        long size = 16L << 20;
        Qcow2Image.create(overlay, base, size);
        byte[] model = model(content, size);
        int threads = 4;
        long slice = size / threads;
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<byte[]>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(pool.submit(() -> {
                    // Each thread owns one slice of the disk; its model is the slice's expected content.
                    Random r = new Random(100 + id);
                    long from = id * slice;
                    byte[] mine = Arrays.copyOfRange(model, (int) from, (int) (from + slice));
                    for (int op = 0; op < 200; op++) {
                        int length = SECTOR * (1 + r.nextInt(300));
                        int at = SECTOR * r.nextInt((int) ((slice - length) / SECTOR));
                        if (r.nextInt(6) == 0) {
                            disk.zero(from + at, length);
                            Arrays.fill(mine, at, at + length, (byte) 0);
                        } else {
                            byte[] data = random(r, length);
                            write(disk, from + at, data, r);
                            System.arraycopy(data, 0, mine, at, length);
                        }
                        if (op % 50 == 0) {
                            disk.flush();
                        }
                        int check = SECTOR * r.nextInt((int) ((slice - 65536) / SECTOR));
                        assertThat(read(disk, from + check, 65536, r))
                                .isEqualTo(Arrays.copyOfRange(mine, check, check + 65536));
                    }
                    return mine;
                }));
            }
            for (int t = 0; t < threads; t++) {
                System.arraycopy(done.get(t).get(), 0, model, (int) (t * slice), (int) slice);
            }
            pool.shutdown();
            assertSameDisk(readAll(disk), model, "after concurrent writes");
        }
        QemuImg.assertClean(overlay);
        assertSameDisk(QemuImg.contents(overlay, dir), model, "qemu-img convert");
    }

    @Test
    void anImageLeftOpenHasNoCorruptionAndIsCleanAfterFlush() throws Exception {
        Random r = new Random(13);
        byte[] content = random(r, 2 << 20);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("crash.qcow2");
        Qcow2Image.create(overlay, Path.of("base.raw"), 64L << 20);
        // The copies lie beside their own copy of the base: the one in use is locked.
        Path copy = Files.createDirectory(dir.resolve("copies")).resolve("crash.qcow2");
        Files.copy(base, copy.resolveSibling("base.raw"));
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            for (int i = 0; i < 40; i++) {
                write(disk, SECTOR * (long) r.nextInt((60 << 20) / SECTOR), random(r, 1 + r.nextInt(200_000)), r);
                if (i % 10 == 9) {
                    // As if the VMM died here: unflushed metadata is lost, nothing may be corrupt.
                    Files.copy(overlay, copy, StandardCopyOption.REPLACE_EXISTING);
                    QemuImg.Result check = QemuImg.run(QEMU_IMG, "check", "-f", "qcow2", copy);
                    assertThat(check.exitCode()).as("0 = clean, 3 = leaks only:\n%s", check.output()).isIn(0, 3);
                }
            }
            disk.flush();
            Files.copy(overlay, copy, StandardCopyOption.REPLACE_EXISTING);
            QemuImg.assertClean(copy);
        }
    }

    // -------------------------------------------------------------------------------------------
    // Images qemu made

    @ParameterizedTest(name = "cluster_size={0} compat={1}")
    @CsvSource({"512,1.1", "4096,1.1", "65536,1.1", "2097152,1.1", "65536,0.10", "4096,0.10"})
    void readsAndWritesOverlaysQemuCreatedAndWrote(int clusterSize, String compat) throws Exception {
        Random r = new Random(clusterSize);
        byte[] content = random(r, (5 << 20) + 3000);
        Path base = base("base.raw", content);
        Path overlay = dir.resolve("q.qcow2");
        long size = 12L << 20;
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize + ",compat=" + compat,
                "-b", base, "-F", "raw", overlay, size);
        if (QemuImg.hasQemuIo()) {
            QemuImg.ok(QEMU_IO, "-f", "qcow2", "-c", "write -P 0x5a 1000k 300k", "-c", "write -z 2M 128k",
                    "-c", "write -P 0x33 5100k 200k", "-c", "write -P 0x44 9M 70k", "-c", "discard 9M 64k",
                    "-c", "write -z 6M 1M", overlay);
        } else {
            QemuImg.ok(QEMU_IMG, "resize", "-q", overlay, size);
        }
        byte[] model = QemuImg.contents(overlay, dir);
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            assertThat(disk).isInstanceOf(Qcow2Image.class);
            assertThat(((Qcow2Image) disk).clusterSize()).isEqualTo(clusterSize);
            assertSameDisk(readAll(disk), model, "what qemu wrote");
            for (int op = 0; op < 80; op++) {
                int length = 1 + r.nextInt(r.nextBoolean() ? 5000 : 300_000);
                int at = r.nextInt((int) size - length);
                if (r.nextInt(5) == 0) {
                    disk.zero(at, length);
                    Arrays.fill(model, at, at + length, (byte) 0);
                } else {
                    byte[] data = random(r, length);
                    write(disk, at, data, r);
                    System.arraycopy(data, 0, model, at, length);
                }
            }
            assertSameDisk(readAll(disk), model, "after writes");
        }
        QemuImg.assertClean(overlay);
        assertSameDisk(QemuImg.contents(overlay, dir), model, "qemu-img convert after writes");
    }

    @Test
    void readsAStandaloneImageQemuConvertedFromRaw() throws Exception {
        Random r = new Random(17);
        byte[] content = new byte[6 << 20];
        for (int i = 0; i < 40; i++) {
            int at = r.nextInt(content.length - 70000);
            System.arraycopy(random(r, 70000), 0, content, at, 70000);
        }
        Path raw = base("src.raw", content);
        Path image = dir.resolve("conv.qcow2");
        QemuImg.ok(QEMU_IMG, "convert", "-f", "raw", "-O", "qcow2", raw, image);
        try (DiskImage disk = DiskImage.open(image, true)) {
            assertThat(((Qcow2Image) disk).backingFile()).isEmpty();
            assertSameDisk(readAll(disk), content, "converted image");
        }
    }

    @Test
    void smallClusterImagesGrowTheirRefcountTableAsJavaWritesThem() throws Exception {
        Path image = dir.resolve("small.qcow2");
        long size = 32L << 20;
        // 512-byte clusters: one refcount block counts 128 KiB, one refcount table cluster 8 MiB, and
        // the refcount blocks cached (128) 16 MiB.
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", image, size);
        long tableBefore = ByteBuffer.wrap(Files.readAllBytes(image)).getLong(48);
        Random r = new Random(19);
        byte[] model = new byte[(int) size];
        try (DiskImage disk = DiskImage.open(image, false)) {
            for (int op = 0; op < 250; op++) {
                int length = SECTOR * (1 + r.nextInt(400));
                int at = SECTOR * r.nextInt((int) ((size - length) / SECTOR));
                byte[] data = random(r, length);
                write(disk, at, data, r);
                System.arraycopy(data, 0, model, at, length);
                if (op % 40 == 0) {
                    disk.flush();
                }
            }
            assertSameDisk(readAll(disk), model, "read back");
        }
        assertThat(Files.size(image)).as("past one refcount table cluster's and the cache's reach")
                .isGreaterThan(16L << 20);
        assertThat(ByteBuffer.wrap(Files.readAllBytes(image)).getLong(48)).as("the refcount table moved")
                .isNotEqualTo(tableBefore);
        QemuImg.assertClean(image);
        assertSameDisk(QemuImg.contents(image, dir), model, "qemu-img convert");
    }

    @Test
    void moreDirtyTablesThanTheCacheHoldsAreWrittenBackNotLost() throws Exception {
        // 2 MiB clusters: one L2 table maps 512 GiB, and the cache holds four (8 MiB) of them.
        Path image = dir.resolve("wide.qcow2");
        long size = 6L << 40;
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", image, size);
        Random r = new Random(29);
        long table = 512L << 30;
        java.util.Map<Long, byte[]> written = new java.util.LinkedHashMap<>();
        for (int pass = 0; pass < 3; pass++) {
            try (DiskImage disk = DiskImage.open(image, false)) {
                // Tables loaded clean while the others are dirty, in an order that differs each pass,
                // each write a new cluster of its table.
                for (int i = 0; i < 9; i++) {
                    long cluster = (pass * 16L + i) << 21;
                    long at = ((i * 5L + pass * 3L) % 11) * table + cluster + SECTOR * (long) r.nextInt(4000);
                    byte[] data = random(r, 1 + r.nextInt(3 * SECTOR));
                    write(disk, at, data, r);
                    written.put(at, data);
                }
                for (var e : written.entrySet()) {
                    assertThat(read(disk, e.getKey(), e.getValue().length, r)).isEqualTo(e.getValue());
                }
            }
        }
        QemuImg.assertClean(image);
        try (DiskImage disk = DiskImage.open(image, true)) {
            for (var e : written.entrySet()) {
                assertThat(read(disk, e.getKey(), e.getValue().length, r)).as("at %d", e.getKey())
                        .isEqualTo(e.getValue());
            }
        }
    }

    // -------------------------------------------------------------------------------------------
    // Locks

    @Test
    void anOverlayLocksItselfAndSharesItsBase() throws Exception {
        Path base = base("base.raw", new byte[1 << 20]);
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        Qcow2Image.create(a, base, 1 << 20);
        Qcow2Image.create(b, base, 1 << 20);
        try (DiskImage first = DiskImage.open(a, false); DiskImage second = DiskImage.open(b, false)) {
            assertThat(first.readOnly()).isFalse();
            assertThat(second.path()).isEqualTo(b);
            assertThatThrownBy(() -> DiskImage.open(a, true)).isInstanceOf(DiskImageException.class)
                    .hasMessageContaining("in use by another guest");
            assertThatThrownBy(() -> DiskImage.open(base, false)).as("nothing writes a base an overlay reads")
                    .isInstanceOf(DiskImageException.class).hasMessageContaining("in use by another guest");
            DiskImage.open(base, true).close();
        }
        try (DiskImage writer = DiskImage.open(base, false)) {
            assertThat(writer.readOnly()).isFalse();
            assertThatThrownBy(() -> DiskImage.open(a, true)).isInstanceOf(DiskImageException.class)
                    .hasMessageContaining("backing file").hasMessageContaining("in use by another guest that writes it");
        }
        try (DiskImage ro = DiskImage.open(a, true)) {
            assertThat(ro.readOnly()).isTrue();
            byte[] one = new byte[SECTOR];
            assertThatThrownBy(() -> write(ro, 0, one, new Random())).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ro.zero(0, SECTOR)).isInstanceOf(IOException.class);
        }
    }

    // -------------------------------------------------------------------------------------------
    // What is refused

    @Test
    void refusesFeaturesItDoesNotImplementByName() throws Exception {
        byte[] content = random(new Random(23), 1 << 20);
        Path raw = base("data.raw", content);

        Path compressed = dir.resolve("c.qcow2");
        byte[] text = "compressible text, ".repeat(50_000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        QemuImg.ok(QEMU_IMG, "convert", "-c", "-f", "raw", "-O", "qcow2", base("text.raw", text), compressed);
        assertRefused(compressed, "compressed clusters");

        Path extended = dir.resolve("e.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", extended, "1M");
        assertRefused(extended, "extended L2 entries");

        Path external = dir.resolve("x.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "data_file=" + dir.resolve("x.data"), external, "1M");
        assertRefused(external, "external data file");

        Path encrypted = dir.resolve("enc.qcow2");
        QemuImg.Result luks = QemuImg.run(QEMU_IMG, "create", "-q", "--object", "secret,id=sec0,data=123456",
                "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", encrypted, "1M");
        if (luks.exitCode() != 0) {
            // qemu-img could not time its key derivation on a busy host: mark a plain image LUKS-encrypted.
            Files.deleteIfExists(encrypted);
            QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", encrypted, "1M");
            try (var ch = java.nio.channels.FileChannel.open(encrypted, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(4).putInt(0, 2), 32);
            }
        }
        assertRefused(encrypted, "encrypted");

        Path inner = dir.resolve("inner.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", inner, "1M");
        Path chained = dir.resolve("chain.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-b", inner, "-F", "qcow2", chained);
        assertRefused(chained, "only raw backing files");
        // Without the format extension the backing file is probed.
        Path probed = dir.resolve("probed.qcow2");
        Qcow2Image.create(probed, raw, 1 << 20);
        patchBackingFormatAway(probed);
        try (DiskImage disk = DiskImage.open(probed, true)) {
            assertThat(read(disk, 0, 4096, new Random())).isEqualTo(Arrays.copyOf(content, 4096));
        }
        Files.copy(inner, raw, StandardCopyOption.REPLACE_EXISTING);
        assertRefused(probed, "qcow2 backing file");

        Path snapshots = dir.resolve("snap.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", snapshots, "1M");
        QemuImg.ok(QEMU_IMG, "snapshot", "-c", "s1", snapshots);
        assertThatThrownBy(() -> DiskImage.open(snapshots, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("internal snapshots");
        DiskImage.open(snapshots, true).close();

        Path narrow = dir.resolve("narrow.qcow2");
        QemuImg.ok(QEMU_IMG, "create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", narrow, "1M");
        assertThatThrownBy(() -> DiskImage.open(narrow, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("16-bit refcounts");
        DiskImage.open(narrow, true).close();
    }

    private static void assertRefused(Path image, String feature) {
        assertThatThrownBy(() -> DiskImage.open(image, true)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining(image.toString()).hasMessageContaining(feature);
    }

    /** Turns the backing format extension into an unknown one, so readers must probe the backing file. */
    private static void patchBackingFormatAway(Path image) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer type = ByteBuffer.allocate(4);
            ch.read(type, Qcow2Header.WRITTEN_LENGTH);
            assertThat(type.getInt(0)).isEqualTo(Qcow2Header.EXTENSION_BACKING_FORMAT);
            ch.write(ByteBuffer.allocate(4).putInt(0, 0x12345678), Qcow2Header.WRITTEN_LENGTH);
        }
    }

    @Test
    void aRawFileIsStillRawAndAQcow2FileIsDetectedByItsMagic() throws Exception {
        Path raw = base("plain.img", "QFI".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Files.write(raw, new byte[4093], java.nio.file.StandardOpenOption.APPEND);
        try (DiskImage disk = DiskImage.open(raw, false)) {
            assertThat(disk).isNotInstanceOf(Qcow2Image.class);
            assertThat(disk.capacity()).isEqualTo(4096);
        }
        Path qcow = dir.resolve("tiny.qcow2");
        Files.write(qcow, new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 3});
        assertThatThrownBy(() -> DiskImage.open(qcow, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("truncated qcow2 header");
    }
}
