package io.stratus.agent.boot;

import static io.stratus.agent.boot.DiskBuilder.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partition tables written by sfdisk, read back; and the same tables damaged the ways a corrupt
 * or hostile image is (a header or entry that fails its CRC, entries made consistent again but
 * out of bounds or overlapping, a truncated disk, absurd counts), each refused with what is wrong.
 */
class PartitionTableTest {
    private static final String LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    private static final String ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    private static final String GPT_SCRIPT = "label: gpt\nstart=2048, size=4096, type=" + LINUX + ", name=root\n"
            + "start=6144, size=2048, type=" + ESP + "\n";

    @TempDir
    Path dir;

    private static List<Partition> read(Path disk) throws IOException {
        try (RawDisk d = RawDisk.open(disk)) {
            return PartitionTable.read(d);
        }
    }

    private Path gpt() throws Exception {
        return DiskBuilder.partitioned(dir.resolve("gpt.raw"), 8, GPT_SCRIPT);
    }

    @Test
    void readsTheGptSfdiskWrites() throws Exception {
        List<Partition> parts = read(gpt());

        assertThat(parts).hasSize(2);
        assertThat(parts.get(0)).isEqualTo(new Partition(1, 2048 * 512L, 4096 * 512L, "Linux filesystem \"root\""));
        assertThat(parts.get(1).number()).isEqualTo(2);
        assertThat(parts.get(1).offset()).isEqualTo(6144 * 512L);
        assertThat(parts.get(1).type()).isEqualTo("EFI system");
        assertThat(parts.get(1).notSearched()).isPresent();
    }

    @Test
    void readsTheMbrSfdiskWrites() throws Exception {
        Path disk = DiskBuilder.partitioned(dir.resolve("mbr.raw"), 8,
                "label: dos\nstart=2048, size=4096, type=83, bootable\nstart=6144, size=8192, type=5\n");

        List<Partition> parts = read(disk);

        assertThat(parts).hasSize(2);
        assertThat(parts.get(0)).isEqualTo(new Partition(1, MIB, 2 * MIB, "Linux (type 0x83)"));
        assertThat(parts.get(1).notSearched()).hasValueSatisfying(why -> assertThat(why).contains("logical"));
    }

    @Test
    void aDiskWithoutATableIsOneFilesystem() throws Exception {
        Path disk = dir.resolve("bare.raw");
        Files.write(disk, new byte[4096]);

        assertThat(read(disk)).containsExactly(new Partition(0, 0, 4096, "no partition table"));
    }

    @Test
    void aFatBootSectorWhereTheMbrWouldBeIsOneFilesystem() throws Exception {
        Path disk = dir.resolve("fat.raw");
        Files.write(disk, new byte[(int) (4 * MIB)]);
        DiskBuilder.run(null, DiskBuilder.tool("mkfs.vfat", "dosfstools"), disk.toString());

        assertThat(read(disk)).extracting(Partition::number).containsExactly(0);
    }

    @Test
    void aGptHeaderThatFailsItsCrcIsRefused() throws Exception {
        Path disk = gpt();
        DiskBuilder.patch(disk, 512 + 40, new byte[] {0x7f});

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessage("GPT header CRC mismatch: the partition table is corrupt");
    }

    @Test
    void aGptEntryArrayThatFailsItsCrcIsRefused() throws Exception {
        Path disk = gpt();
        DiskBuilder.patch(disk, 1024 + 33, new byte[] {0x11});

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("GPT partition entry array CRC mismatch");
    }

    @Test
    void aPartitionPastTheUsableAreaIsRefusedEvenWithGoodCrcs() throws Exception {
        Path disk = gpt();
        entry(disk, 0).putLong(40, 1L << 40);
        DiskBuilder.patch(disk, 1024, entries);
        fixCrcs(disk);

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("GPT partition 1 [2048, 1099511627776] is outside the usable area");
    }

    @Test
    void overlappingGptPartitionsAreRefused() throws Exception {
        Path disk = gpt();
        entry(disk, 1).putLong(32, 4000);
        DiskBuilder.patch(disk, 1024, entries);
        fixCrcs(disk);

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessage("GPT partition 2 overlaps partition 1");
    }

    @Test
    void aTruncatedDiskIsRefused() throws Exception {
        Path disk = gpt();
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.WRITE)) {
            ch.truncate(4 * MIB);
        }

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("GPT usable area [2048, 16350] is not on the disk (8192 sectors)");
    }

    @Test
    void anAbsurdEntryCountIsRefusedBeforeAnythingIsRead() throws Exception {
        Path disk = gpt();
        byte[] header = header(disk);
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(80, 1 << 30);
        DiskBuilder.patch(disk, 512, withHeaderCrc(header));

        assertThatThrownBy(() -> read(disk)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("claims 1073741824 partition entries");
    }

    @Test
    void mbrEntriesThatOverlapOrLeaveTheDiskOrHaveABadStatusAreRefused() throws Exception {
        String script = "label: dos\nstart=2048, size=4096, type=83\nstart=6144, size=4096, type=83\n";
        Path overlap = DiskBuilder.partitioned(dir.resolve("overlap.raw"), 8, script);
        DiskBuilder.patch(overlap, 446 + 16 + 8, le32(3000));
        assertThatThrownBy(() -> read(overlap)).isInstanceOf(NotBootableException.class)
                .hasMessage("MBR partition 2 overlaps MBR partition 1");

        Path outside = DiskBuilder.partitioned(dir.resolve("outside.raw"), 8, script);
        DiskBuilder.patch(outside, 446 + 16 + 12, le32(0x7fffffff));
        assertThatThrownBy(() -> read(outside)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("MBR partition 2 ends at sector 2147489791, past the disk's end (16384 sectors)");

        Path status = DiskBuilder.partitioned(dir.resolve("status.raw"), 8, script);
        DiskBuilder.patch(status, 446, new byte[] {0x12});
        assertThatThrownBy(() -> read(status)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("MBR partition 1 has status 0x12");
    }

    /** Random damage to a GPT disk's first sectors: partitions on the disk, or a clear refusal, never anything else. */
    @Test
    void randomDamageIsReadOrRefusedNeverACrash() throws Exception {
        Path clean = gpt();
        byte[] head = new byte[34 * 512];
        try (FileChannel ch = FileChannel.open(clean)) {
            ch.read(ByteBuffer.wrap(head), 0);
        }
        Random random = new Random(20261206);
        for (int round = 0; round < 300; round++) {
            byte[] damaged = head.clone();
            for (int i = random.nextInt(8) + 1; i > 0; i--) {
                damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
            }
            Path disk = dir.resolve("fuzz.raw");
            Files.copy(clean, disk, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            DiskBuilder.patch(disk, 0, damaged);
            if (round % 2 == 0) {
                // Damage with the CRCs made right again, so that the checks behind them are reached.
                fixCrcs(disk);
            }
            try {
                for (Partition p : read(disk)) {
                    assertThat(p.offset()).isNotNegative();
                    assertThat(p.offset() + p.size()).isLessThanOrEqualTo(Files.size(disk));
                }
            } catch (NotBootableException e) {
                assertThat(e.getMessage()).isNotBlank();
            }
        }
    }

    private byte[] entries;

    /** Entry {@code index} of the disk's entry array (kept in {@link #entries} to be written back). */
    private ByteBuffer entry(Path disk, int index) throws IOException {
        entries = new byte[128 * 128];
        try (FileChannel ch = FileChannel.open(disk)) {
            ch.read(ByteBuffer.wrap(entries), 1024);
        }
        return ByteBuffer.wrap(entries, index * 128, 128).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] header(Path disk) throws IOException {
        byte[] h = new byte[92];
        try (FileChannel ch = FileChannel.open(disk)) {
            ch.read(ByteBuffer.wrap(h), 512);
        }
        return h;
    }

    /** Makes the entry array's and the header's CRCs right again for what the disk now holds. */
    private static void fixCrcs(Path disk) throws IOException {
        byte[] h = header(disk);
        ByteBuffer hb = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        long count = hb.getInt(80) & 0xffffffffL;
        long size = hb.getInt(84) & 0xffffffffL;
        long lba = hb.getLong(72);
        if (count * size > 0 && count * size <= 1 << 20 && lba >= 2 && lba < 64) {
            byte[] array = new byte[(int) (count * size)];
            try (FileChannel ch = FileChannel.open(disk)) {
                ch.read(ByteBuffer.wrap(array), lba * 512);
            }
            CRC32 crc = new CRC32();
            crc.update(array);
            hb.putInt(88, (int) crc.getValue());
        }
        DiskBuilder.patch(disk, 512, withHeaderCrc(h));
    }

    private static byte[] withHeaderCrc(byte[] h) {
        ByteBuffer hb = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int size = hb.getInt(12);
        if (size < 92 || size > h.length) {
            return h;
        }
        hb.putInt(16, 0);
        CRC32 crc = new CRC32();
        crc.update(h, 0, size);
        hb.putInt(16, (int) crc.getValue());
        return h;
    }

    private static byte[] le32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }
}
