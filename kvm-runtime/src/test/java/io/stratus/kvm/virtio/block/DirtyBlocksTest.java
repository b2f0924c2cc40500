package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dirty-block bitmap a disk migration reads, and the blocks an image counts as its own. */
class DirtyBlocksTest {
    private static final int B = DirtyBlocks.BLOCK_SIZE;

    private static BitSet bits(int... indexes) {
        BitSet s = new BitSet();
        for (int i : indexes) {
            s.set(i);
        }
        return s;
    }

    @Test
    void marksEveryBlockARangeTouchesAndTakeClears() {
        DirtyBlocks d = new DirtyBlocks(10L * B + 512);
        assertThat(d.blocks()).as("a partial last block counts").isEqualTo(11);
        d.mark(B - 512, 1024);
        d.mark(5L * B, B);
        d.mark(10L * B, 512);
        assertThat(d.take()).isEqualTo(bits(0, 1, 5, 10));
        assertThat(d.take().isEmpty()).as("taken blocks are cleared").isTrue();
    }

    @Test
    void ignoresEmptyRangesAndPartsOutsideTheDisk() {
        DirtyBlocks d = new DirtyBlocks(4L * B);
        d.mark(0, 0);
        d.mark(4L * B, 512);
        d.mark(-512, 512);
        d.mark(3L * B, 10L * B);
        d.mark(Long.MAX_VALUE - 10, 100);
        assertThat(d.take()).isEqualTo(bits(3));
    }

    @Test
    void marksRangesAcrossWholeBitmapWords() {
        DirtyBlocks d = new DirtyBlocks(300L * B);
        d.mark(63L * B, 130L * B);
        BitSet expected = new BitSet();
        expected.set(63, 193);
        assertThat(d.take()).isEqualTo(expected);
        d.mark(0, 300L * B);
        assertThat(d.take().cardinality()).isEqualTo(300);
    }

    @Test
    void noMarkIsLostWhileAnotherThreadTakes() throws Exception {
        int blocks = 4096;
        DirtyBlocks d = new DirtyBlocks((long) blocks * B);
        int writers = 4;
        BitSet[] marked = new BitSet[writers];
        CountDownLatch done = new CountDownLatch(writers);
        AtomicBoolean go = new AtomicBoolean();
        for (int w = 0; w < writers; w++) {
            int id = w;
            marked[w] = new BitSet();
            Thread t = new Thread(() -> {
                Random r = new Random(id);
                while (!go.get()) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < 200_000; i++) {
                    int b = r.nextInt(blocks);
                    d.mark((long) b * B + r.nextInt(B / 512) * 512L, 512);
                    marked[id].set(b);
                }
                done.countDown();
            });
            t.start();
        }
        BitSet taken = new BitSet();
        go.set(true);
        while (done.getCount() > 0) {
            taken.or(d.take());
        }
        taken.or(d.take());
        BitSet all = new BitSet();
        for (BitSet m : marked) {
            all.or(m);
        }
        assertThat(taken).isEqualTo(all);
    }

    @Test
    void aQcow2OverlayOwnsItsAllocatedAndZeroedClustersOnly(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base.raw");
        byte[] content = new byte[4 * B];
        java.util.Arrays.fill(content, (byte) 'b');
        Files.write(base, content);
        Path overlay = dir.resolve("layer.qcow2");
        Qcow2Image.create(overlay, base, 16L * B);
        try (DiskImage disk = DiskImage.open(overlay, false)) {
            assertThat(disk.ownBlocks(B).isEmpty()).as("a fresh overlay").isTrue();
            Random r = new Random(3);
            Qcow2ImageTest.write(disk, 2L * B + 512, new byte[512], r);
            byte[] ones = new byte[B];
            java.util.Arrays.fill(ones, (byte) 1);
            Qcow2ImageTest.write(disk, 9L * B, ones, r);
            disk.zero(B, B);
            assertThat(disk.ownBlocks(B)).isEqualTo(bits(1, 2, 9));
            assertThat(disk.ownBlocks(4 * B)).as("coarser blocks").isEqualTo(bits(0, 2));
            assertThat(disk.ownBlocks(512).cardinality()).isEqualTo(3 * B / 512);
        }
        Path raw = dir.resolve("disk.raw");
        Files.write(raw, new byte[3 * B + 512]);
        try (DiskImage disk = DiskImage.open(raw, false)) {
            assertThat(disk.ownBlocks(B)).as("every block of a raw image").isEqualTo(bits(0, 1, 2, 3));
        }
    }
}
