package io.stratus.kvm.migration;

import static io.stratus.kvm.migration.DiskBytes.filled;
import static io.stratus.kvm.migration.DiskBytes.readAll;
import static io.stratus.kvm.migration.DiskBytes.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.virtio.block.DirtyBlocks;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.Qcow2Image;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Cold disk copies between two images over a pair of pipes, without KVM. */
@Timeout(60)
class DiskCopyTest {
    private static final int B = DirtyBlocks.BLOCK_SIZE;
    private static final Path QEMU_IMG = Path.of("/usr/bin/qemu-img");

    @TempDir
    Path dir;
    private Pipe toTarget;
    private Pipe toSource;

    @BeforeEach
    void pipes() throws IOException {
        toTarget = Pipe.open();
        toSource = Pipe.open();
    }

    @AfterEach
    void closePipes() throws IOException {
        toTarget.sink().close();
        toTarget.source().close();
        toSource.sink().close();
        toSource.source().close();
    }

    /** Runs receive into {@code target} on its own thread and send from {@code source} here; returns {sent, received}. */
    private DiskCopyResult[] copy(DiskImage source, DiskImage target) throws Exception {
        CompletableFuture<DiskCopyResult> received = CompletableFuture.supplyAsync(
                () -> DiskCopy.receive(target, toTarget.source(), toSource.sink()));
        DiskCopyResult sent = DiskCopy.send(source, toSource.source(), toTarget.sink());
        return new DiskCopyResult[] {sent, received.get(10, TimeUnit.SECONDS)};
    }

    @Test
    void copiesAQcow2OverlaysOwnClustersOntoALargerFreshOverlay() throws Exception {
        byte[] base = new byte[8 * B];
        new Random(7).nextBytes(base);
        Path sourceBase = Files.write(dir.resolve("base.raw"), base);
        Path targetBase = Files.write(dir.resolve("base-copy.raw"), base);
        Path sourcePath = dir.resolve("source.qcow2");
        Path targetPath = dir.resolve("target.qcow2");
        long size = 32L * B + 3 * 512;
        long grown = 48L * B;
        Qcow2Image.create(sourcePath, sourceBase, size);
        Qcow2Image.create(targetPath, targetBase, grown);
        try (DiskImage source = DiskImage.open(sourcePath, false)) {
            write(source, 512, filled(1024, 'a'));             // a partial cluster over the base
            write(source, 3L * B, new byte[B]);                 // zeros written as data over the base
            source.zero(5L * B, B);                             // the zero flag over the base
            write(source, 6L * B, filled(B, 'b'));              // written, then zeroed
            source.zero(6L * B, B);
            write(source, 20L * B + 4096, filled(B, 'c'));     // beyond the base, across two clusters
            write(source, 32L * B, filled(512, 'd'));           // the partial last block
            source.flush();
        }
        byte[] expected;
        DiskCopyResult[] results;
        try (DiskImage source = DiskImage.open(sourcePath, true);
             DiskImage target = DiskImage.open(targetPath, false)) {
            expected = readAll(source);
            results = copy(source, target);
        }
        assertThat(results[0].diskSize()).isEqualTo(size);
        assertThat(results[1].diskSize()).isEqualTo(size);
        assertThat(results[0].dataBytes()).as("blocks 0, 20, 21 and the last one's 3 sectors").isEqualTo(3L * B + 1536);
        assertThat(results[0].zeroBytes()).as("blocks 3, 5 and 6").isEqualTo(3L * B);
        assertThat(results[1].dataBytes()).isEqualTo(results[0].dataBytes());
        assertThat(results[1].zeroBytes()).isEqualTo(results[0].zeroBytes());
        assertThat(results[1].streamBytes()).isEqualTo(results[0].streamBytes());

        try (DiskImage target = DiskImage.open(targetPath, true)) {
            assertThat(target.capacity()).isEqualTo(grown);
            byte[] all = readAll(target);
            assertThat(Arrays.copyOf(all, (int) size)).isEqualTo(expected);
            assertThat(Arrays.copyOfRange(all, (int) size, (int) grown)).isEqualTo(new byte[(int) (grown - size)]);
        }
        if (Files.isExecutable(QEMU_IMG)) {
            Process check = new ProcessBuilder(QEMU_IMG.toString(), "check", targetPath.toString())
                    .redirectErrorStream(true).start();
            String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(check.waitFor()).as(output).isZero();
        }
    }

    @Test
    void copiesARawFileOntoALargerOne() throws Exception {
        long size = 10L * B + 1024;
        byte[] data = new byte[(int) size];
        new Random(11).nextBytes(data);
        Arrays.fill(data, 2 * B, 5 * B, (byte) 0);              // a zero range amid data
        Arrays.fill(data, 10 * B, 10 * B + 1024, (byte) 0);    // a zero partial last block
        Path sourcePath = Files.write(dir.resolve("source.raw"), data);
        byte[] old = filled(16 * B, 0xee);                      // what the target held: zero ranges must clear it
        Path targetPath = Files.write(dir.resolve("target.raw"), old);
        DiskCopyResult[] results;
        try (DiskImage source = DiskImage.open(sourcePath, true);
             DiskImage target = DiskImage.open(targetPath, false)) {
            results = copy(source, target);
        }
        assertThat(results[0].dataBytes()).as("blocks 0-1 and 5-9").isEqualTo(7L * B);
        assertThat(results[0].zeroBytes()).isEqualTo(3L * B + 1024);
        assertThat(results[1].dataBytes()).isEqualTo(7L * B);
        byte[] copied = Files.readAllBytes(targetPath);
        assertThat(Arrays.copyOf(copied, (int) size)).isEqualTo(data);
        assertThat(Arrays.copyOfRange(copied, (int) size, old.length))
                .as("past the source's size the target keeps what it had")
                .isEqualTo(Arrays.copyOfRange(old, (int) size, old.length));
    }

    @Test
    void refusesASourceLargerThanTheTarget() throws Exception {
        Path sourcePath = Files.write(dir.resolve("source.raw"), filled(4 * B, 1));
        Path targetPath = Files.write(dir.resolve("target.raw"), new byte[4 * B - 512]);
        try (DiskImage source = DiskImage.open(sourcePath, true);
             DiskImage target = DiskImage.open(targetPath, false)) {
            CompletableFuture<DiskCopyResult> received = CompletableFuture.supplyAsync(
                    () -> DiskCopy.receive(target, toTarget.source(), toSource.sink()));
            assertThatThrownBy(() -> DiskCopy.send(source, toSource.source(), toTarget.sink()))
                    .isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the disk copy failed on the target: the source's disk of " + 4 * B
                            + " bytes does not fit the target disk")
                    .hasMessageContaining("of " + (4 * B - 512) + " bytes");
            assertThatThrownBy(() -> received.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(MigrationException.class).hasMessageContaining("does not fit");
        }
        assertThat(Files.readAllBytes(targetPath)).as("nothing written").isEqualTo(new byte[4 * B - 512]);
    }

    // Hand-made streams from a hostile or broken source.

    private static ByteBuffer hello(byte[] magic, int version, long size, int sector) {
        return ByteBuffer.allocate(DiskCopy.HELLO_SIZE).put(magic).putInt(version).putLong(size).putInt(sector).flip();
    }

    private static ByteBuffer data(long offset, int length) {
        return ByteBuffer.allocate(Frame.DISK_DATA_HEADER + length).put((byte) Frame.DISK_DATA).put((byte) 0)
                .putLong(offset).putInt(length).put(new byte[length]).flip();
    }

    private static ByteBuffer zero(long offset, long length) {
        return ByteBuffer.allocate(Frame.DISK_ZERO_ENTRY).put((byte) Frame.DISK_ZERO).put((byte) 0).putLong(offset)
                .putLong(length).flip();
    }

    /** A stream of frames as a source would write it. */
    private static final class Stream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final FrameWriter out = new FrameWriter(Channels.newChannel(bytes), OptionalLong.empty());

        Stream frame(Frame.Type type, ByteBuffer payload) throws Exception {
            out.write(type, payload);
            return this;
        }

        Stream hello(long size) throws Exception {
            return frame(Frame.Type.HELLO, DiskCopyTest.hello(DiskCopy.MAGIC, DiskCopy.VERSION, size, 512));
        }
    }

    /** Receives {@code stream} into a fresh raw target of 8 blocks; the target must fail with {@code message}. */
    private void assertReceiveFails(byte[] stream, String message) throws Exception {
        Path targetPath = Files.write(dir.resolve("target-" + System.nanoTime() + ".raw"), new byte[8 * B]);
        ByteArrayOutputStream answers = new ByteArrayOutputStream();
        try (DiskImage target = DiskImage.open(targetPath, false)) {
            assertThatThrownBy(() -> DiskCopy.receive(target, Channels.newChannel(new ByteArrayInputStream(stream)),
                    Channels.newChannel(answers)))
                    .isInstanceOf(MigrationException.class).hasMessageContaining(message);
        }
        // The source hears why: ERROR is the last answer, with the same message.
        byte[] a = answers.toByteArray();
        FrameReader in = new FrameReader(Channels.newChannel(new ByteArrayInputStream(a)), "the target");
        Frame last = null;
        while (in.bytes() < a.length) {
            last = in.next(java.util.EnumSet.of(Frame.Type.ACCEPT, Frame.Type.ERROR));
        }
        assertThat(last).isNotNull();
        assertThat(last.type()).isEqualTo(Frame.Type.ERROR);
        assertThat(StandardCharsets.UTF_8.decode(last.payload()).toString()).contains(message);
    }

    @Test
    void rejectsABrokenHandshake() throws Exception {
        assertReceiveFails(new Stream().frame(Frame.Type.HELLO, hello(MemoryLayout.MAGIC, 2, 4L * B, 512)).bytes
                .toByteArray(), "a live migration's HELLO, not a disk copy's");
        assertReceiveFails(new Stream().frame(Frame.Type.HELLO, hello(DiskCopy.MAGIC, 99, 4L * B, 512)).bytes
                .toByteArray(), "the source speaks disk copy version 99, this target 1");
        assertReceiveFails(new Stream().frame(Frame.Type.HELLO, hello(DiskCopy.MAGIC, 1, 4L * B, 4096)).bytes
                .toByteArray(), "a sector size of 4096 bytes");
        assertReceiveFails(new Stream().frame(Frame.Type.HELLO, hello(DiskCopy.MAGIC, 1, 4L * B + 100, 512)).bytes
                .toByteArray(), "a disk size of " + (4L * B + 100) + " bytes, not a positive number of whole sectors");
        assertReceiveFails(new Stream().frame(Frame.Type.HELLO, ByteBuffer.wrap(DiskCopy.MAGIC)).bytes.toByteArray(),
                "a HELLO of 8 bytes, less than 24");
        assertReceiveFails(new Stream().frame(Frame.Type.DISK, data(0, 512)).bytes.toByteArray(),
                "a DISK frame where [HELLO] was expected");
    }

    @Test
    void rejectsCorruptDiskFrames() throws Exception {
        long size = 4L * B;   // the target has 8 blocks: past the declared size is still refused
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, data(size, 512)).bytes.toByteArray(),
                "disk 0 range [" + size + ", +512) is outside the disk of " + size + " bytes");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, zero(size - 512, 1024)).bytes
                .toByteArray(), "is outside the disk of " + size + " bytes");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, zero(0, Long.MAX_VALUE - 511)).bytes
                .toByteArray(), "is outside the disk");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, data(100, 512)).bytes.toByteArray(),
                "range [100, +512) is not a non-empty range of whole 512-byte sectors");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, data(0, 700)).bytes.toByteArray(),
                "range [0, +700) is not a non-empty range of whole 512-byte sectors");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK,
                ByteBuffer.allocate(Frame.DISK_DATA_HEADER).put((byte) 0).put((byte) 1).putLong(0).putInt(512).flip())
                .bytes.toByteArray(), "disk 1 does not exist");
        ByteBuffer cut = data(0, 1024);
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, cut.limit(cut.limit() - 10)).bytes
                .toByteArray(), "a disk entry is cut short by the end of its frame");
        // A DISK frame header that promises more than its limit, and one whose bytes end early.
        byte[] start = new Stream().hello(size).bytes.toByteArray();
        byte[] huge = Arrays.copyOf(start, start.length + 5);
        ByteBuffer.wrap(huge, start.length, 5).put((byte) 0x06).putInt(Frame.MAX_DISK_PAYLOAD + 1);
        assertReceiveFails(huge, "a DISK frame of " + (Frame.MAX_DISK_PAYLOAD + 1) + " bytes, more than its limit");
        byte[] whole = new Stream().hello(size).frame(Frame.Type.DISK, data(0, 4096)).bytes.toByteArray();
        assertReceiveFails(Arrays.copyOf(whole, whole.length - 1000),
                "the source closed the connection inside a DISK frame");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, data(0, 512)).bytes.toByteArray(),
                "the source closed the connection");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.DISK, data(0, 512))
                .frame(Frame.Type.DISK_END, ByteBuffer.allocate(16).putLong(1024).putLong(0).flip()).bytes
                .toByteArray(), "the source sent 1024 data and 0 zero bytes, but 512 and 0 arrived");
        assertReceiveFails(new Stream().hello(size).frame(Frame.Type.ABORT,
                ByteBuffer.wrap("cannot read".getBytes(StandardCharsets.UTF_8))).bytes.toByteArray(),
                "the source aborted the disk copy: cannot read");
    }

    @Test
    void aSourceThatStopsMidwayLeavesTheTargetFailingOnceTheChannelCloses() throws Exception {
        Path targetPath = Files.write(dir.resolve("target.raw"), new byte[8 * B]);
        byte[] whole = new Stream().hello(8L * B).frame(Frame.Type.DISK, data(0, 4096)).bytes.toByteArray();
        try (DiskImage target = DiskImage.open(targetPath, false)) {
            CompletableFuture<DiskCopyResult> received = CompletableFuture.supplyAsync(
                    () -> DiskCopy.receive(target, toTarget.source(), toSource.sink()));
            toTarget.sink().write(ByteBuffer.wrap(whole, 0, whole.length - 100));   // and then nothing
            Thread.sleep(200);
            assertThat(received).isNotDone();
            toTarget.source().close();   // the caller gives up
            assertThatThrownBy(() -> received.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the connection to the source broke while copying into " + targetPath);
        }
    }

    @Test
    void aSourceThatClosesMidwayFailsTheTarget() throws Exception {
        Path targetPath = Files.write(dir.resolve("target.raw"), new byte[8 * B]);
        byte[] whole = new Stream().hello(8L * B).frame(Frame.Type.DISK, data(0, 4096)).bytes.toByteArray();
        try (DiskImage target = DiskImage.open(targetPath, false)) {
            CompletableFuture<DiskCopyResult> received = CompletableFuture.supplyAsync(
                    () -> DiskCopy.receive(target, toTarget.source(), toSource.sink()));
            toTarget.sink().write(ByteBuffer.wrap(whole, 0, whole.length - 100));
            toTarget.sink().close();
            assertThatThrownBy(() -> received.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the source closed the connection inside a DISK frame");
        }
    }

    @Test
    void aTargetThatGoesAwayFailsTheSourceSaySo() throws Exception {
        Path sourcePath = Files.write(dir.resolve("source.raw"), filled(4 * B, 3));
        try (DiskImage source = DiskImage.open(sourcePath, true)) {
            toSource.sink().close();   // the target closed before answering
            assertThatThrownBy(() -> DiskCopy.send(source, toSource.source(), toTarget.sink()))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the target closed the connection");
        }
    }
}
