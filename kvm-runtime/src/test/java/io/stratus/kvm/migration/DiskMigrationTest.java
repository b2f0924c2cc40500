package io.stratus.kvm.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.Qcow2Image;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared-nothing live migration: the diskcount guest writes its count into successive sectors of
 * its disk (a qcow2 overlay over a raw base, or a raw file) and moves, disk and all, to a target
 * with its own disk file, over a loopback socket. Real KVM, seconds each.
 */
@Timeout(180)
@RequiresKvm
class DiskMigrationTest {
    private static final Pattern COUNT = Pattern.compile("(?m)^COUNT (\\d+)$");
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final Path QEMU_IMG = Path.of("/usr/bin/qemu-img");
    private static final long DISK_SIZE = 16L << 20;
    private static final int BASE_SIZE = 4 << 20;

    @TempDir
    Path dir;
    private LoopbackLink link;

    @BeforeEach
    void connect() throws IOException {
        link = LoopbackLink.open();
    }

    @AfterEach
    void disconnect() throws IOException {
        link.close();
    }

    /** About 800 counts a second here: many disk writes while a migration runs. */
    private static VmConfig diskcount(String name, Path disk) {
        return VmConfig.builder(TestGuests.image("diskcount.elf")).name(name).vcpus(2).memoryMiB(64)
                .disk(DiskConfig.of(disk, false)).cmdline("count.delay=1000000").build();
    }

    /** A raw base whose every sector names itself ("BASE s"), a byte-for-byte copy of it for the target. */
    private List<Path> baseAndCopy() throws IOException {
        byte[] base = new byte[BASE_SIZE];
        for (int s = 0; s < BASE_SIZE / 512; s++) {
            byte[] text = ("BASE " + s + "\n").getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(text, 0, base, s * 512, text.length);
        }
        Path source = Files.write(dir.resolve("base.raw"), base);
        Path copy = Files.write(dir.resolve("base-copy.raw"), base);
        return List.of(source, copy);
    }

    private static long lastCount(String text) {
        Matcher m = COUNT.matcher(text);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        return last;
    }

    /** The counts in {@code stream} are 0, 1, 2, ... with none repeated or missing. */
    private static void assertCountsRunOn(String stream) {
        assertThat(stream).doesNotContain("COUNT-ERROR");
        Matcher m = COUNT.matcher(stream);
        long expected = 0;
        while (m.find()) {
            assertThat(Long.parseLong(m.group(1))).as(stream).isEqualTo(expected++);
        }
        assertThat(expected).isGreaterThan(5);
    }

    private static void awaitCount(ConsoleBuffer console, long count) throws InterruptedException {
        assertThat(console.await(Pattern.compile("(?m)^COUNT " + count + "$"), LIMIT)).as(console.text()).isPresent();
    }

    private static byte[] readSectors(DiskImage disk, long sector, int count) throws IOException {
        try (Memory m = new Memory(count * 512L)) {
            disk.read(new long[] {Pointer.nativeValue(m)}, new long[] {count * 512L}, 1, sector * 512);
            return m.getByteArray(0, count * 512);
        }
    }

    private static byte[] sector(String text) {
        byte[] s = new byte[512];
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, s, 0, t.length);
        return s;
    }

    private static String figures(String what, MigrationResult r) {
        String line = String.format("%s: rounds=%d pagesSent=%d zeroPages=%d diskBytes=%d diskZeroBytes=%d bytes=%d"
                        + " total=%d ms downtime=%d ms", what, r.rounds(), r.pagesSent(), r.zeroPages(), r.diskBytes(),
                r.diskZeroBytes(), r.bytesOnWire(), r.totalTime().toMillis(), r.downtime().toMillis());
        System.out.println(line);
        return line;
    }

    @Test
    void countingGuestMovesWithItsQcow2LayerAndNoWriteIsLost() throws Exception {
        List<Path> bases = baseAndCopy();
        Path sourceDisk = dir.resolve("source.qcow2");
        Path targetDisk = dir.resolve("target.qcow2");
        Qcow2Image.create(sourceDisk, bases.get(0), DISK_SIZE);
        Qcow2Image.create(targetDisk, bases.get(1), DISK_SIZE);
        migrateAndCheck(diskcount("diskcount", sourceDisk), diskcount("diskcount", targetDisk), targetDisk, true);
    }

    @Test
    void countingGuestMovesWithItsRawDisk() throws Exception {
        Path sourceDisk = dir.resolve("source.raw");
        Path targetDisk = dir.resolve("target.raw");
        byte[] base = new byte[(int) DISK_SIZE];
        byte[] marker = sector("RAW-TAIL\n");
        System.arraycopy(marker, 0, base, base.length - 512, 512);
        Files.write(sourceDisk, base);
        try (var f = java.nio.channels.FileChannel.open(targetDisk, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(DISK_SIZE);
            f.write(ByteBuffer.allocate(1), DISK_SIZE - 1);
        }
        migrateAndCheck(diskcount("diskcount-raw", sourceDisk), diskcount("diskcount-raw", targetDisk), targetDisk,
                false);
    }

    private void migrateAndCheck(VmConfig sourceConfig, VmConfig targetConfig, Path targetDisk, boolean qcow2)
            throws Exception {
        ConsoleBuffer before = new ConsoleBuffer(1 << 20);
        ConsoleBuffer after = new ConsoleBuffer(1 << 20);
        long last;
        long lastOnTarget;
        try (VirtualMachine source = VirtualMachine.create(sourceConfig, before);
             VirtualMachine target = VirtualMachine.createIncoming(targetConfig, after)) {
            source.start();
            awaitCount(before, 40);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            // A slow link: the guest writes dozens of sectors while round 1 is on the wire.
            MigrationResult sent = MigrationSource.migrate(source, link.source(),
                    MigrationSettings.defaults().withDisks(true).withBandwidthLimit(4L << 20));
            MigrationResult received = incoming.get(60, TimeUnit.SECONDS);
            figures("source", sent);
            figures("target", received);

            assertThat(sent.completed()).as(sent.toString()).isTrue();
            assertThat(sent.rounds()).isGreaterThanOrEqualTo(2);
            assertThat(sent.diskBytes()).as("the written sectors' clusters travel as data").isPositive();
            if (qcow2) {
                assertThat(sent.diskBytes()).as("only the overlay's own clusters, not the base")
                        .isLessThan(BASE_SIZE);
            } else {
                assertThat(sent.diskBytes() + sent.diskZeroBytes()).as("all of a raw disk, mostly as zeros")
                        .isGreaterThanOrEqualTo(DISK_SIZE);
            }
            assertThat(received.diskBytes()).isEqualTo(sent.diskBytes());
            assertThat(received.diskZeroBytes()).isEqualTo(sent.diskZeroBytes());
            assertThat(sent.downtime()).isPositive().isLessThan(Duration.ofSeconds(20));
            assertThat(target.state()).isEqualTo(VirtualMachine.State.RUNNING);
            last = lastCount(before.text());
            source.close();

            awaitCount(after, last + 30);
            target.stop();
            lastOnTarget = lastCount(after.text());
            assertThat(after.text()).doesNotContain("COUNT 0\n");
            assertCountsRunOn(before.text() + after.text());
        }
        // Every count, written on the source or the target, is on the target's disk.
        try (DiskImage disk = DiskImage.open(targetDisk, true)) {
            int sectors = (int) lastOnTarget + 1;
            byte[] all = readSectors(disk, 0, sectors);
            for (int n = 0; n < sectors; n++) {
                byte[] got = Arrays.copyOfRange(all, n * 512, n * 512 + 512);
                assertThat(new String(got, StandardCharsets.US_ASCII).trim()).as("sector %d (source counted to %d)",
                        n, last).isEqualTo(new String(sector("STRATUS-COUNT " + n + "\n"), StandardCharsets.US_ASCII)
                        .trim());
            }
            if (qcow2) {
                long s = BASE_SIZE / 512 - 1;
                assertThat(readSectors(disk, s, 1)).as("the base shows through").isEqualTo(sector("BASE " + s + "\n"));
            } else {
                assertThat(readSectors(disk, DISK_SIZE / 512 - 1, 1)).isEqualTo(sector("RAW-TAIL\n"));
            }
        }
        if (qcow2 && Files.isExecutable(QEMU_IMG)) {
            Process p = new ProcessBuilder(QEMU_IMG.toString(), "check", "-f", "qcow2", targetDisk.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
        }
    }

    @Test
    void targetWithADiskOfAnotherSizeRefusesAndTheGuestRunsOnAtTheSource() throws Exception {
        List<Path> bases = baseAndCopy();
        Path sourceDisk = dir.resolve("source.qcow2");
        Path targetDisk = dir.resolve("target.qcow2");
        Qcow2Image.create(sourceDisk, bases.get(0), DISK_SIZE);
        Qcow2Image.create(targetDisk, bases.get(1), 2 * DISK_SIZE);
        ConsoleBuffer console = new ConsoleBuffer(1 << 20);
        try (VirtualMachine source = VirtualMachine.create(diskcount("sized", sourceDisk), console);
             VirtualMachine target = VirtualMachine.createIncoming(diskcount("sized", targetDisk),
                     new ConsoleBuffer(1 << 12))) {
            source.start();
            awaitCount(console, 3);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            assertThatThrownBy(() -> MigrationSource.migrate(source, link.source(),
                    MigrationSettings.defaults().withDisks(true)))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the handshake")
                    .hasMessageContaining("do not match this VM's").hasMessageContaining("the guest runs on here");
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class)
                    .hasMessageContaining("[" + DISK_SIZE + " bytes] do not match this VM's [" + 2 * DISK_SIZE);
            long last = lastCount(console.text());
            awaitCount(console, last + 3);
            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
            assertThat(source.blockDevices().get(0).dirtyTracking()).isFalse();
            assertThat(target.state()).isEqualTo(VirtualMachine.State.CREATED);
        }
    }

    @Test
    void targetRefusesMalformedDiskFramesAndOtherVersions() throws Exception {
        List<Path> bases = baseAndCopy();
        Path targetDisk = dir.resolve("target.qcow2");
        Qcow2Image.create(targetDisk, bases.get(1), DISK_SIZE);
        try (VirtualMachine target = VirtualMachine.createIncoming(diskcount("hostile-disk", targetDisk),
                new ConsoleBuffer(1 << 12))) {
            byte[] hello = frame(Frame.Type.HELLO, MemoryLayout.of(target, true).encode());
            assertReceiveFails(target, "disk 0 range [" + DISK_SIZE + ", +512) is outside the disk of " + DISK_SIZE,
                    hello, frame(Frame.Type.DISK, zeroEntry(0, DISK_SIZE, 512)));
            assertReceiveFails(target, "is outside the disk", hello,
                    frame(Frame.Type.DISK, zeroEntry(0, 512, Long.MAX_VALUE - 511)));
            assertReceiveFails(target, "not a non-empty range of whole 512-byte sectors", hello,
                    frame(Frame.Type.DISK, zeroEntry(0, 100, 512)));
            assertReceiveFails(target, "disk 1 does not exist", hello, frame(Frame.Type.DISK, zeroEntry(1, 0, 512)));
            assertReceiveFails(target, "a disk data entry of 65537 bytes", hello, frame(Frame.Type.DISK,
                    ByteBuffer.allocate(14).put((byte) Frame.DISK_DATA).put((byte) 0).putLong(0).putInt(65537)
                            .flip()));
            assertReceiveFails(target, "cut short", hello, frame(Frame.Type.DISK,
                    ByteBuffer.allocate(14 + 100).put((byte) Frame.DISK_DATA).put((byte) 0).putLong(0).putInt(512)
                            .put(new byte[100]).flip()));
            byte[] shared = frame(Frame.Type.HELLO, MemoryLayout.of(target, false).encode());
            assertReceiveFails(target, "a DISK frame where", shared, frame(Frame.Type.DISK, zeroEntry(0, 0, 512)));
            ByteBuffer v1 = MemoryLayout.of(target, true).encode();
            v1.putInt(8, 1);
            assertReceiveFails(target, "the source speaks migration protocol version 1; this VMM speaks version 2",
                    frame(Frame.Type.HELLO, v1));
            assertThat(target.state()).isEqualTo(VirtualMachine.State.CREATED);
        }
    }

    private static ByteBuffer zeroEntry(int disk, long offset, long length) {
        return ByteBuffer.allocate(18).put((byte) Frame.DISK_ZERO).put((byte) disk).putLong(offset).putLong(length)
                .flip();
    }

    private static byte[] frame(Frame.Type type, ByteBuffer payload) {
        ByteBuffer b = ByteBuffer.allocate(5 + payload.remaining());
        b.put((byte) type.code).putInt(payload.remaining()).put(payload);
        return b.array();
    }

    private static void assertReceiveFails(VirtualMachine target, String message, byte[]... frames)
            throws IOException {
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (byte[] f : frames) {
            stream.write(f);
        }
        ByteArrayOutputStream answers = new ByteArrayOutputStream();
        assertThatThrownBy(() -> MigrationTarget.receive(target,
                Channels.newChannel(new ByteArrayInputStream(stream.toByteArray())), Channels.newChannel(answers)))
                .isInstanceOf(MigrationException.class).hasMessageContaining(message);
        assertThat(answers.toByteArray()).as("an ERROR answer").isNotEmpty();
    }
}
