package io.stratus.kvm.migration;

import static io.stratus.kvm.migration.DiskBytes.filled;
import static io.stratus.kvm.migration.DiskBytes.readAll;
import static io.stratus.kvm.migration.DiskBytes.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.virtio.block.DirtyBlocks;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.Qcow2Image;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DISK frames between two qcow2 overlays, without KVM: what goes over, and what the target then reads. */
class DiskStreamTest {
    private static final int B = DirtyBlocks.BLOCK_SIZE;

    /** Sends {@code blocks} of {@code from} as DISK frames and applies them to {@code to}; returns {data, zero} bytes. */
    private static long[] copy(DiskImage from, BitSet blocks, DiskImage to) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long[] sent;
        try (DiskSender sender = new DiskSender(new FrameWriter(Channels.newChannel(bytes), OptionalLong.empty()))) {
            sender.send(0, from, blocks);
            sent = new long[] {sender.dataBytes(), sender.zeroBytes()};
        }
        FrameReader in = new FrameReader(Channels.newChannel(new ByteArrayInputStream(bytes.toByteArray())),
                "the source");
        try (DiskReceiver receiver = new DiskReceiver(List.of(to))) {
            while (in.bytes() < bytes.size()) {
                receiver.apply(in.next(EnumSet.of(Frame.Type.DISK)).payload());
            }
            receiver.flush();
            assertThat(receiver.dataBytes()).isEqualTo(sent[0]);
            assertThat(receiver.zeroBytes()).isEqualTo(sent[1]);
        }
        return sent;
    }

    @Test
    void theOverlaysOwnClustersMoveAndTheTargetReadsAlike(@TempDir Path dir) throws Exception {
        byte[] base = new byte[8 * B];
        new Random(5).nextBytes(base);
        Path sourceBase = Files.write(dir.resolve("base.raw"), base);
        Path targetBase = Files.write(dir.resolve("copy.raw"), base);
        Path sourcePath = dir.resolve("source.qcow2");
        Path targetPath = dir.resolve("target.qcow2");
        long size = 32L * B + 3 * 512;
        Qcow2Image.create(sourcePath, sourceBase, size);
        Qcow2Image.create(targetPath, targetBase, size);
        try (DiskImage source = DiskImage.open(sourcePath, false);
             DiskImage target = DiskImage.open(targetPath, false)) {
            write(source, 512, filled(1024, 'a'));             // a partial cluster over the base
            write(source, 3L * B, new byte[B]);                 // zeros written as data over the base
            source.zero(5L * B, B);                             // the zero flag over the base
            write(source, 20L * B + 4096, filled(B, 'c'));     // beyond the base, across two clusters
            write(source, 32L * B, filled(512, 'd'));           // the partial last block
            BitSet own = source.ownBlocks(B);
            assertThat(own).isEqualTo(BitSet.valueOf(new long[] {1L | 1L << 3 | 1L << 5 | 1L << 20 | 1L << 21
                    | 1L << 32}));

            long[] sent = copy(source, own, target);
            assertThat(sent[0]).as("data: blocks 0, 20, 21 and the last one's 3 sectors").isEqualTo(3L * B + 1536);
            assertThat(sent[1]).as("zeros: blocks 3 and 5").isEqualTo(2L * B);
            assertThat(readAll(target)).isEqualTo(readAll(source));
        }
    }

    @Test
    void aDiskOnAnNbdExportTakesNoDiskFramesAndTheOthersStillDo(@TempDir Path dir) throws Exception {
        Path raw = Files.write(dir.resolve("data.raw"), new byte[4 * B]);
        try (DiskImage data = DiskImage.open(raw, false);
             DiskReceiver receiver = new DiskReceiver(java.util.Arrays.asList(null, data))) {
            java.nio.ByteBuffer toVolume = java.nio.ByteBuffer.allocate(Frame.DISK_DATA_HEADER + 512)
                    .put((byte) Frame.DISK_DATA).put((byte) 0).putLong(0).putInt(512).put(new byte[512]).flip();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> receiver.apply(toVolume))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("disk 0 is on an NBD export");
            java.nio.ByteBuffer toData = java.nio.ByteBuffer.allocate(Frame.DISK_DATA_HEADER + 512)
                    .put((byte) Frame.DISK_DATA).put((byte) 1).putLong(512).putInt(512).put(filled(512, 'x')).flip();
            receiver.apply(toData);
            receiver.flush();
            assertThat(receiver.dataBytes()).isEqualTo(512);
            assertThat(readAll(data)[512]).isEqualTo((byte) 'x');
        }
    }
}
