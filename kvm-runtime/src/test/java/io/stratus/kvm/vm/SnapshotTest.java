package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.snapshot.SnapshotCodec;
import io.stratus.kvm.snapshot.SnapshotException;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pause, resume, snapshot and restore with the counting test guest: seconds, real KVM. */
@Timeout(120)
@RequiresKvm
class SnapshotTest {
    private static final Pattern COUNT = Pattern.compile("COUNT (\\d+)\n");
    private static final Duration LIMIT = Duration.ofSeconds(30);

    private static VmConfig counter(int vcpus) {
        return VmConfig.builder(TestGuests.image("counter.elf")).name("counter").vcpus(vcpus).memoryMiB(64).build();
    }

    private static long lastCount(String text) {
        Matcher m = COUNT.matcher(text);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        return last;
    }

    /** Boots the counter, lets it count to 3, pauses and writes a snapshot; returns the console so far. */
    private static String snapshotCounter(Path dir, int vcpus) throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.create(counter(vcpus), console)) {
            vm.start();
            assertThat(console.await(Pattern.compile("COUNT 3\n"), LIMIT)).isPresent();
            vm.pause();
            assertThat(vm.state()).isEqualTo(VirtualMachine.State.PAUSED);
            vm.snapshot(dir);
            return console.text();
        }
    }

    @Test
    void pausedGuestMakesNoProgressAndResumes() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.create(counter(2), console)) {
            vm.start();
            assertThat(console.await(Pattern.compile("COUNT 2\n"), LIMIT)).isPresent();
            vm.pause();
            long atPause = console.totalBytes();
            Thread.sleep(600);
            assertThat(console.totalBytes()).as("no output while paused").isEqualTo(atPause);
            vm.resume();
            long before = lastCount(console.text());
            assertThat(console.await(Pattern.compile("COUNT " + (before + 2) + "\n"), LIMIT)).isPresent();
            assertThat(vm.state()).isEqualTo(VirtualMachine.State.RUNNING);
        }
    }

    @Test
    void restoredGuestContinuesWhereItStoppedInsteadOfBooting(@TempDir Path dir) throws Exception {
        String before = snapshotCounter(dir, 2);
        long last = lastCount(before);
        assertThat(Files.size(dir.resolve(SnapshotCodec.MEMORY_FILE))).isEqualTo(64L << 20);
        assertThat(Files.readAttributes(dir.resolve(SnapshotCodec.MEMORY_FILE),
                java.nio.file.attribute.BasicFileAttributes.class).size()).isPositive();

        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.restore(dir, console)) {
            assertThat(vm.config().vcpus()).isEqualTo(2);
            vm.start();
            assertThat(console.await(Pattern.compile("COUNT " + (last + 3) + "\n"), LIMIT)).isPresent();
        }
        // The restored guest neither boots again nor repeats nor skips: the console reads on as one.
        assertCountsRunOn(before + console.text());
    }

    /**
     * A guest whose disk is on an NBD export: the snapshot keeps the export, not the data (the
     * memory file is guest RAM only, the served file untouched by it); the restore connects again,
     * and refuses with the volume's name once the server is gone.
     */
    @Test
    void aGuestWithADiskOnAnNbdExportRestoresOntoTheSameExportOrIsRefused(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.util.stream.Stream.of(System.getenv().getOrDefault("PATH",
                "").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, "qemu-nbd"))), "qemu-nbd is not"
                + " installed (Debian: qemu-utils): a snapshot of a disk on an NBD export is not tested");
        Path volume = Files.write(dir.resolve("volume.raw"), new byte[1 << 20]);
        Path sockets = Files.createTempDirectory(Path.of("/tmp"), "nbdsnap");
        Path socket = sockets.resolve("root.sock");
        Path snapshot = dir.resolve("snapshot");
        io.stratus.kvm.virtio.block.NbdVolume root = io.stratus.kvm.virtio.block.NbdVolume.unix(
                "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", socket.toString(), "vol", false);
        VmConfig config = VmConfig.builder(TestGuests.image("counter.elf")).name("nbd-counter").memoryMiB(64)
                .disk(DiskConfig.nbd(root)).build();
        Process server = io.stratus.kvm.testing.NbdSockets.serveRaw(volume, socket, dir.resolve("nbd-1.log"));
        try {
            ConsoleBuffer console = new ConsoleBuffer(1 << 16);
            try (VirtualMachine vm = VirtualMachine.create(config, console)) {
                vm.start();
                assertThat(console.await(Pattern.compile("COUNT 2\n"), LIMIT)).isPresent();
                vm.pause();
                vm.snapshot(snapshot);
            }
            assertThat(SnapshotCodec.read(snapshot).config().disks().get(0).volume().volume()).contains(root);
            try (VirtualMachine vm = VirtualMachine.restore(snapshot, new ConsoleBuffer(1 << 16))) {
                assertThat(vm.blockDevices().get(0).volume()).contains(root);
                assertThat(vm.blockDevices().get(0).backend().capacity()).isEqualTo(1 << 20);
            }
        } finally {
            server.destroyForcibly().waitFor();
        }
        Files.deleteIfExists(socket);
        assertThatThrownBy(() -> VirtualMachine.restore(snapshot, new ConsoleBuffer(1 << 16)))
                .isInstanceOf(io.stratus.kvm.virtio.block.DiskImageException.class)
                .hasMessageContaining(root.volumeId());
        Files.deleteIfExists(sockets);
    }

    /** An agent upgraded while its guests were saved restores what the older VMM wrote (format 1). */
    @Test
    void aSnapshotInTheFormerFormatStillRestores(@TempDir Path dir) throws Exception {
        String before = snapshotCounter(dir, 2);
        long last = lastCount(before);
        Path state = dir.resolve(SnapshotCodec.STATE_FILE);
        byte[] current = Files.readAllBytes(state);
        // Version 1 is version 3 without the entropy flag and the volume slot count after the balloon interval.
        java.io.DataInputStream in = new java.io.DataInputStream(
                new java.io.ByteArrayInputStream(current, 12, current.length - 12));
        in.readUTF();
        in.readUTF();
        in.readUTF();
        in.readLong();
        in.readInt();
        in.readBoolean();
        in.readLong();
        int flag = current.length - in.available();
        assertThat(current[flag]).as("no entropy device").isZero();
        assertThat(java.nio.ByteBuffer.wrap(current).getInt(flag + 1)).as("no volume slots").isZero();
        byte[] old = new byte[current.length - 5];
        System.arraycopy(current, 0, old, 0, flag);
        System.arraycopy(current, flag + 5, old, flag, current.length - flag - 5);
        java.nio.ByteBuffer.wrap(old).putInt(8, 1);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(old, 0, old.length - 4);
        java.nio.ByteBuffer.wrap(old).putInt(old.length - 4, (int) crc.getValue());
        Files.write(state, old);

        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.restore(dir, console)) {
            assertThat(vm.config().entropy()).isFalse();
            vm.start();
            assertThat(console.await(Pattern.compile("COUNT " + (last + 2) + "\n"), LIMIT)).isPresent();
        }
        assertCountsRunOn(before + console.text());
    }

    @Test
    void restoredGuestCanBeSnapshottedIntoTheDirectoryItsMemoryMapsAndRestoredAgain(@TempDir Path dir)
            throws Exception {
        String first = snapshotCounter(dir, 1);
        String second;
        ConsoleBuffer running = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.restore(dir, running)) {
            vm.start();
            assertThat(running.await(Pattern.compile("COUNT " + (lastCount(first) + 2) + "\n"), LIMIT)).isPresent();
            vm.pause();
            second = running.text();
            // Its RAM maps the memory file being replaced: it must neither crash nor see the new file.
            vm.snapshot(dir);
            vm.resume();
            assertThat(running.await(Pattern.compile("COUNT " + (lastCount(second) + 2) + "\n"), LIMIT)).isPresent();
        }
        ConsoleBuffer third = new ConsoleBuffer(1 << 16);
        try (VirtualMachine vm = VirtualMachine.restore(dir, third)) {
            vm.start();
            assertThat(third.await(Pattern.compile("COUNT " + (lastCount(second) + 2) + "\n"), LIMIT))
                    .as(third.text()).isPresent();
        }
        assertCountsRunOn(first + second + third.text());
    }

    /** The counts in {@code stream} are 0, 1, 2, ... with none repeated or missing. */
    private static void assertCountsRunOn(String stream) {
        Matcher m = COUNT.matcher(stream);
        long expected = 0;
        while (m.find()) {
            assertThat(Long.parseLong(m.group(1))).as(stream).isEqualTo(expected++);
        }
        assertThat(expected).isGreaterThan(5);
    }

    @Test
    void snapshotNeedsAPausedGuest(@TempDir Path dir) throws Exception {
        try (VirtualMachine vm = VirtualMachine.create(counter(1), new ConsoleBuffer(4096))) {
            vm.start();
            assertThatThrownBy(() -> vm.snapshot(dir)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("pause it");
        }
    }

    @Test
    void truncatedCorruptForeignOrMissingSnapshotsAreClearErrors(@TempDir Path dir) throws Exception {
        Path good = Files.createDirectory(dir.resolve("good"));
        snapshotCounter(good, 1);
        ConsoleBuffer running = new ConsoleBuffer(1 << 16);
        try (VirtualMachine other = VirtualMachine.create(counter(1), running)) {
            other.start();

            assertThatThrownBy(() -> VirtualMachine.restore(dir.resolve("absent"), new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("state.bin is missing");

            Path truncated = copy(good, dir.resolve("truncated"));
            try (RandomAccessFile f = new RandomAccessFile(truncated.resolve(SnapshotCodec.MEMORY_FILE).toFile(), "rw")) {
                f.setLength(32L << 20);
            }
            assertThatThrownBy(() -> VirtualMachine.restore(truncated, new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("truncated");

            Path shortState = copy(good, dir.resolve("short-state"));
            byte[] state = Files.readAllBytes(shortState.resolve(SnapshotCodec.STATE_FILE));
            Files.write(shortState.resolve(SnapshotCodec.STATE_FILE), java.util.Arrays.copyOf(state, state.length / 2));
            assertThatThrownBy(() -> VirtualMachine.restore(shortState, new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("corrupt or truncated");

            Path corrupt = copy(good, dir.resolve("corrupt"));
            state[state.length / 3] ^= 0x40;
            Files.write(corrupt.resolve(SnapshotCodec.STATE_FILE), state);
            assertThatThrownBy(() -> VirtualMachine.restore(corrupt, new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("checksum");

            Path future = copy(good, dir.resolve("future"));
            byte[] versioned = Files.readAllBytes(good.resolve(SnapshotCodec.STATE_FILE));
            versioned[11] = 9;
            Files.write(future.resolve(SnapshotCodec.STATE_FILE), versioned);
            assertThatThrownBy(() -> VirtualMachine.restore(future, new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("format version 9");

            Path foreign = copy(good, dir.resolve("foreign"));
            Files.writeString(foreign.resolve(SnapshotCodec.STATE_FILE), "{\"not\":\"a snapshot\"}");
            assertThatThrownBy(() -> VirtualMachine.restore(foreign, new ConsoleBuffer(16)))
                    .isInstanceOf(SnapshotException.class).hasMessageContaining("not a Stratus snapshot");

            long before = lastCount(running.text());
            assertThat(running.await(Pattern.compile("COUNT " + (before + 1) + "\n"), LIMIT))
                    .as("the running guest is untouched by the failed restores").isPresent();
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String name : new String[] {SnapshotCodec.STATE_FILE, SnapshotCodec.MEMORY_FILE}) {
            Files.copy(from.resolve(name), to.resolve(name));
        }
        return to;
    }
}
