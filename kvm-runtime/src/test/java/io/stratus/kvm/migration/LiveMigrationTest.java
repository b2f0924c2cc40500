package io.stratus.kvm.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Live migration between two VMs in this JVM over a loopback socket, with the migrant test guest:
 * it counts, and checks on every pass that a region of its RAM holds what it wrote there the pass
 * before. Real KVM, seconds each.
 */
@Timeout(180)
@RequiresKvm
class LiveMigrationTest {
    private static final Pattern COUNT = Pattern.compile("COUNT (\\d+) (OK|BAD[^\n]*)\n");
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private LoopbackLink link;

    @BeforeEach
    void connect() throws IOException {
        link = LoopbackLink.open();
    }

    @AfterEach
    void disconnect() throws IOException {
        link.close();
    }

    private static VmConfig migrant(String name, int regionKiB, long delay) {
        return VmConfig.builder(TestGuests.image("migrant.elf")).name(name).vcpus(2).memoryMiB(64)
                .cmdline("mig.kib=" + regionKiB + " mig.delay=" + delay).build();
    }

    private static long lastCount(String text) {
        Matcher m = COUNT.matcher(text);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        return last;
    }

    private static void assertAllOk(String console) {
        Matcher m = COUNT.matcher(console);
        int lines = 0;
        while (m.find()) {
            assertThat(m.group(2)).as(console).isEqualTo("OK");
            lines++;
        }
        assertThat(lines).as(console).isPositive();
    }

    /** The counts in {@code stream} are 0, 1, 2, ... with none repeated or missing, and every check passed. */
    private static void assertCountsRunOn(String stream) {
        Matcher m = COUNT.matcher(stream);
        long expected = 0;
        while (m.find()) {
            assertThat(Long.parseLong(m.group(1))).as(stream).isEqualTo(expected++);
            assertThat(m.group(2)).as(stream).isEqualTo("OK");
        }
        assertThat(expected).isGreaterThan(5);
    }

    private static void awaitCount(ConsoleBuffer console, long count) throws InterruptedException {
        assertThat(console.await(Pattern.compile("COUNT " + count + " "), LIMIT)).as(console.text()).isPresent();
    }

    private static String figures(String what, MigrationResult r) {
        String line = String.format("%s: rounds=%d pagesSent=%d zeroPages=%d bytes=%d total=%d ms downtime=%d ms"
                        + " throttle=%d%%%s", what, r.rounds(), r.pagesSent(), r.zeroPages(), r.bytesOnWire(),
                r.totalTime().toMillis(), r.downtime().toMillis(), r.maxThrottlePercent(),
                r.abortedReason().map(a -> " aborted: " + a).orElse(""));
        System.out.println(line);
        return line;
    }

    @Test
    void countingGuestMovesToTheTargetAndCountsOnWithItsMemoryIntact() throws Exception {
        ConsoleBuffer before = new ConsoleBuffer(1 << 16);
        ConsoleBuffer after = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant", 2048, 2_000_000);
        try (VirtualMachine source = VirtualMachine.create(config, before);
             VirtualMachine target = VirtualMachine.createIncoming(config, after)) {
            source.start();
            awaitCount(before, 3);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            MigrationResult sent = MigrationSource.migrate(source, link.source(), MigrationSettings.defaults());
            MigrationResult received = incoming.get(60, TimeUnit.SECONDS);
            figures("source", sent);
            figures("target", received);

            assertThat(sent.completed()).as(sent.toString()).isTrue();
            assertThat(sent.rounds()).isGreaterThanOrEqualTo(2);
            assertThat(sent.zeroPages()).as("most of a 64 MiB guest is zeros").isGreaterThan(8000);
            assertThat(received.pagesSent()).as("pages the target received").isEqualTo(sent.pagesSent());
            assertThat(sent.downtime()).isPositive().isLessThan(Duration.ofSeconds(20));
            assertThat(source.state()).isEqualTo(VirtualMachine.State.PAUSED);
            assertThat(target.state()).isEqualTo(VirtualMachine.State.RUNNING);
            long last = lastCount(before.text());
            source.close();

            awaitCount(after, last + 3);
            // The target went on from the source's count, not from zero, and every pass found the
            // region as the pass before (on the source or the target) left it.
            assertThat(lastCount(after.text())).isGreaterThan(last);
            assertThat(after.text()).doesNotContain("COUNT 0 ");
            assertCountsRunOn(before.text() + after.text());
        }
    }

    /**
     * A guest whose root disk is on an NBD export and with a volume in a slot: both stay on the
     * server (nothing of them travels, with disk migration asked for), the target connects to the
     * same exports (the server takes two clients) and the guest counts on; a target that cannot
     * reach a slot's server refuses the guest, which runs on at the source.
     */
    @Test
    void volumesStayOnTheirServerAndTheTargetConnectsToThemOrRefusesTheGuest() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.util.stream.Stream.of(System.getenv()
                .getOrDefault("PATH", "").split(":")).anyMatch(d -> java.nio.file.Files.isExecutable(
                java.nio.file.Path.of(d, "qemu-nbd"))), "qemu-nbd is not installed (Debian: qemu-utils): migration"
                + " with volumes is not tested");
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory(java.nio.file.Path.of("/tmp"), "migvol");
        java.nio.file.Path rootFile = java.nio.file.Files.write(dir.resolve("root.raw"), new byte[1 << 20]);
        java.nio.file.Path dataFile = java.nio.file.Files.write(dir.resolve("data.raw"), new byte[2 << 20]);
        Process rootServer = io.stratus.kvm.testing.NbdSockets.serveRaw(rootFile, dir.resolve("root.sock"),
                dir.resolve("root.log"), "-e", "2");
        Process dataServer = io.stratus.kvm.testing.NbdSockets.serveRaw(dataFile, dir.resolve("data.sock"),
                dir.resolve("data.log"), "-e", "2");
        io.stratus.kvm.virtio.block.NbdVolume root = io.stratus.kvm.virtio.block.NbdVolume.unix("root-volume-0001",
                dir.resolve("root.sock").toString(), "vol", false);
        io.stratus.kvm.virtio.block.NbdVolume data = io.stratus.kvm.virtio.block.NbdVolume.unix("data-volume-0002",
                dir.resolve("data.sock").toString(), "vol", false);
        VmConfig config = VmConfig.builder(TestGuests.image("migrant.elf")).name("migvol").vcpus(2).memoryMiB(64)
                .cmdline("mig.kib=2048 mig.delay=2000000").disk(io.stratus.kvm.vm.DiskConfig.nbd(root))
                .volumeSlots(2).build();
        // A server that takes one client only, for the second part.
        Process single = io.stratus.kvm.testing.NbdSockets.serveRaw(java.nio.file.Files.write(dir.resolve("one.raw"),
                new byte[1 << 20]), dir.resolve("one.sock"),
                dir.resolve("one.log"), "-e", "1");
        try {
            migrateWithVolumes(config, root, data);
            refusedWhereAVolumeIsOutOfReach(config, io.stratus.kvm.virtio.block.NbdVolume.unix("data-volume-0003",
                    dir.resolve("one.sock").toString(), "vol", false));
        } finally {
            rootServer.destroyForcibly().waitFor();
            dataServer.destroyForcibly().waitFor();
            single.destroyForcibly().waitFor();
            try (var files = java.nio.file.Files.list(dir)) {
                for (java.nio.file.Path f : files.toList()) {
                    java.nio.file.Files.deleteIfExists(f);
                }
            }
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    private void migrateWithVolumes(VmConfig config, io.stratus.kvm.virtio.block.NbdVolume root,
                                    io.stratus.kvm.virtio.block.NbdVolume data) throws Exception {
        ConsoleBuffer before = new ConsoleBuffer(1 << 16);
        ConsoleBuffer after = new ConsoleBuffer(1 << 16);
        try (VirtualMachine source = VirtualMachine.create(config, before);
             VirtualMachine target = VirtualMachine.createIncoming(config, after)) {
            source.volumeSlots().get(1).fill(data);
            source.start();
            awaitCount(before, 3);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            MigrationResult sent = MigrationSource.migrate(source, link.source(),
                    MigrationSettings.defaults().withDisks(true));
            incoming.get(60, TimeUnit.SECONDS);
            figures("with volumes", sent);
            assertThat(sent.completed()).as(sent.toString()).isTrue();
            assertThat(sent.diskBytes() + sent.diskZeroBytes()).as("no volume's data travels").isZero();
            assertThat(target.blockDevices().get(0).volume()).contains(root);
            assertThat(target.volumeSlots().get(0).volume()).isEmpty();
            assertThat(target.volumeSlots().get(1).volume()).contains(data);
            assertThat(target.volumeSlots().get(1).unreachable()).isEmpty();
            awaitCount(after, lastCount(before.text()) + 3);
        }
    }

    /**
     * A slot's server that takes one client, the source's: the target cannot reach the volume and
     * refuses the guest (after the NBD timeout), and the source lets it run on.
     */
    private void refusedWhereAVolumeIsOutOfReach(VmConfig config, io.stratus.kvm.virtio.block.NbdVolume lonely)
            throws Exception {
        ConsoleBuffer third = new ConsoleBuffer(1 << 16);
        try (LoopbackLink second = LoopbackLink.open();
             VirtualMachine source = VirtualMachine.create(config, third);
             VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 16))) {
            source.volumeSlots().get(0).fill(lonely);
            source.start();
            awaitCount(third, 2);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, second.target()));
            assertThatThrownBy(() -> MigrationSource.migrate(source, second.source(), MigrationSettings.defaults()))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("data-volume-0003");
            assertThatThrownBy(() -> incoming.get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(MigrationException.class);
            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
            awaitCount(third, lastCount(third.text()) + 2);
        }
    }

    @Test
    void compressedMigrationArrivesIntactToo() throws Exception {
        ConsoleBuffer before = new ConsoleBuffer(1 << 16);
        ConsoleBuffer after = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-deflate", 2048, 2_000_000);
        try (VirtualMachine source = VirtualMachine.create(config, before);
             VirtualMachine target = VirtualMachine.createIncoming(config, after)) {
            source.start();
            awaitCount(before, 2);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            MigrationResult sent = MigrationSource.migrate(source, link.source(),
                    MigrationSettings.defaults().withCompression(true));
            incoming.get(60, TimeUnit.SECONDS);
            figures("source, deflate", sent);
            assertThat(sent.completed()).isTrue();
            long last = lastCount(before.text());
            source.close();
            awaitCount(after, last + 2);
            assertCountsRunOn(before.text() + after.text());
        }
    }

    @Test
    void guestDirtyingFasterThanTheLinkAbortsAndKeepsRunningOnTheSource() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-busy", 16 << 10, 0);
        try (VirtualMachine source = VirtualMachine.create(config, console);
             VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 12))) {
            source.start();
            awaitCount(console, 2);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            MigrationSettings slowLink = MigrationSettings.defaults().withBandwidthLimit(16L << 20).withMaxRounds(4)
                    .withMaxDowntime(Duration.ofMillis(50)).withThrottle(30, 60);
            MigrationResult sent = MigrationSource.migrate(source, link.source(), slowLink);
            figures("source, slow link", sent);

            assertThat(sent.completed()).isFalse();
            assertThat(sent.abortedReason().orElseThrow()).contains("not converged after 4 rounds");
            assertThat(sent.rounds()).isEqualTo(4);
            assertThat(sent.maxThrottlePercent()).isEqualTo(60);
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(MigrationException.class).hasMessageContaining("the source aborted");

            // The source runs on, unthrottled, as if nothing happened.
            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
            assertThat(source.throttlePercent()).isZero();
            long last = lastCount(console.text());
            awaitCount(console, last + 3);
            assertAllOk(console.text());
        }
    }

    @Test
    void targetClosingMidStreamLeavesTheGuestRunningOnTheSource() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-cut", 8 << 10, 2_000_000);
        try (VirtualMachine source = VirtualMachine.create(config, console);
             VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 12))) {
            source.start();
            awaitCount(console, 2);
            ReadableByteChannel cutting = WatchedChannel.cutting(link.target(), 1 << 20);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, cutting, link.target()));

            assertThatThrownBy(() -> MigrationSource.migrate(source, link.source(), MigrationSettings.defaults()))
                    .isInstanceOf(MigrationException.class)
                    .hasMessageContaining("round 1")
                    .hasMessageContaining("the guest runs on here");
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class);

            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
            long last = lastCount(console.text());
            awaitCount(console, last + 3);
            assertAllOk(console.text());
            // The source can be migrated again later: tracking was switched off cleanly.
            source.startDirtyTracking();
            source.stopDirtyTracking();
        }
    }

    /**
     * The source VM is closed (an instance deleted) while round 1 streams its RAM: the migration
     * ends with an error that says so, the migrating thread keeps no interrupt, and only then is
     * the memory it read unmapped (reading it after the unmap would kill the JVM, not fail a test).
     */
    @Test
    void closingTheSourceMidMigrationEndsTheMigrationBeforeItsMemoryGoes() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-closed", 16 << 10, 0);
        try (VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 12))) {
            VirtualMachine source = VirtualMachine.create(config, console);
            source.start();
            awaitCount(console, 2);
            WatchedChannel received = WatchedChannel.counting(link.target());
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, received, link.target()));
            // 4 MiB/s: round 1 (the guest's 16 MiB region and more) takes seconds.
            MigrationSettings slow = MigrationSettings.defaults().withBandwidthLimit(4L << 20);
            AtomicBoolean interruptedAfter = new AtomicBoolean();
            FutureTask<MigrationResult> outgoing = new FutureTask<>(() -> {
                try {
                    return MigrationSource.migrate(source, link.source(), slow);
                } finally {
                    interruptedAfter.set(Thread.currentThread().isInterrupted());
                }
            });
            new Thread(outgoing, "migrating").start();
            received.awaitAtLeast(1 << 20, LIMIT);

            source.close();
            assertThat(source.state()).isEqualTo(VirtualMachine.State.CLOSED);
            assertThatThrownBy(() -> outgoing.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the VM was closed");
            assertThat(interruptedAfter).as("the close's interrupt ends with the migration").isFalse();
            // The channels are the caller's: its closing them is what the target hears.
            link.source().close();
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class);
            assertThatThrownBy(source::holdMemory).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is closed");
        }
    }

    /** The target VM is closed while it receives: receiving ends, and the source runs on. */
    @Test
    void closingTheTargetMidMigrationLeavesTheGuestRunningOnTheSource() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-target-closed", 16 << 10, 0);
        try (VirtualMachine source = VirtualMachine.create(config, console)) {
            VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 12));
            source.start();
            awaitCount(console, 2);
            WatchedChannel received = WatchedChannel.counting(link.target());
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, received, link.target()));
            CompletableFuture<Throwable> outgoing = CompletableFuture.supplyAsync(() -> {
                try {
                    MigrationSource.migrate(source, link.source(), MigrationSettings.defaults()
                            .withBandwidthLimit(4L << 20));
                    return null;
                } catch (Exception e) {
                    return e;
                }
            });
            received.awaitAtLeast(1 << 20, LIMIT);

            target.close();
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class).hasMessageContaining("was closed");
            assertThat(outgoing.get(30, TimeUnit.SECONDS)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the guest runs on here");
            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
            long last = lastCount(console.text());
            awaitCount(console, last + 2);
            assertAllOk(console.text());
        }
    }

    @Test
    void targetOfAnotherSizeRefusesTheStreamAndTheSourceRunsOn() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        VmConfig config = migrant("migrant-64", 1024, 2_000_000);
        VmConfig bigger = VmConfig.builder(TestGuests.image("migrant.elf")).name("migrant-128").vcpus(2)
                .memoryMiB(128).build();
        try (VirtualMachine source = VirtualMachine.create(config, console);
             VirtualMachine target = VirtualMachine.createIncoming(bigger, new ConsoleBuffer(1 << 12))) {
            source.start();
            awaitCount(console, 1);
            CompletableFuture<MigrationResult> incoming = CompletableFuture.supplyAsync(
                    () -> MigrationTarget.receive(target, link.target()));
            assertThatThrownBy(() -> MigrationSource.migrate(source, link.source(), MigrationSettings.defaults()))
                    .isInstanceOf(MigrationException.class).hasMessageContaining("the handshake")
                    .hasMessageContaining("does not match this VM");
            assertThatThrownBy(() -> incoming.get(30, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(MigrationException.class).hasMessageContaining("does not match");
            long last = lastCount(console.text());
            awaitCount(console, last + 2);
            assertThat(source.state()).isEqualTo(VirtualMachine.State.RUNNING);
        }
    }

    @Test
    void targetTurnsHostileStreamsIntoMigrationExceptionsAndStaysUnstarted() throws Exception {
        VmConfig config = migrant("hostile", 1024, 0);
        try (VirtualMachine target = VirtualMachine.createIncoming(config, new ConsoleBuffer(1 << 12))) {
            long pages = target.memory().pageCount();
            byte[] hello = frame(Frame.Type.HELLO, MemoryLayout.of(target.memory(), 2).encode());
            byte[] allZero = frame(Frame.Type.PAGES, ByteBuffer.allocate(13).put((byte) Frame.PAGE_ZERO_RUN).putLong(0)
                    .putInt((int) pages).flip());

            assertReceiveFails(target, "does not match this VM",
                    frame(Frame.Type.HELLO, MemoryLayout.of(target.memory(), 3).encode()));
            assertReceiveFails(target, "outside guest RAM", hello, frame(Frame.Type.PAGES,
                    ByteBuffer.allocate(13).put((byte) Frame.PAGE_ZERO_RUN).putLong(pages - 1).putInt(2).flip()));
            assertReceiveFails(target, "never arrived", hello, frame(Frame.Type.STATE, ByteBuffer.allocate(16)));
            assertReceiveFails(target, "not a Stratus snapshot state file", hello, allZero,
                    frame(Frame.Type.STATE, ByteBuffer.wrap("{\"no\": \"state\"}".getBytes())));
            assertReceiveFails(target, "ROUND_END frame of 2 bytes", hello, frame(Frame.Type.ROUND_END,
                    ByteBuffer.allocate(2)));
            assertReceiveFails(target, "the source aborted the migration: testing", hello, allZero,
                    frame(Frame.Type.ABORT, ByteBuffer.wrap("testing".getBytes())));
            assertReceiveFails(target, "the source closed the connection", hello, allZero);
            assertReceiveFails(target, "more than its limit", hello,
                    ByteBuffer.allocate(5).put((byte) Frame.Type.STATE.code).putInt(-1).array());
            assertThat(target.state()).isEqualTo(VirtualMachine.State.CREATED);

            // After the first round the vCPU threads wait at the gate, held before the guest: a stream
            // that fails after that leaves the guest unstarted here all the same.
            assertReceiveFails(target, "the source closed the connection", hello, allZero,
                    frame(Frame.Type.ROUND_END, ByteBuffer.allocate(4).putInt(0, 1)));
            assertThat(target.state()).isEqualTo(VirtualMachine.State.PAUSED);
            assertThat(target.awaitExit(Duration.ofMillis(200))).as("the guest never ran").isEmpty();
        }
    }

    private static byte[] frame(Frame.Type type, ByteBuffer payload) {
        ByteBuffer b = ByteBuffer.allocate(5 + payload.remaining());
        b.put((byte) type.code).putInt(payload.remaining()).put(payload);
        return b.array();
    }

    private static void assertReceiveFails(VirtualMachine target, String message, byte[]... frames) throws IOException {
        java.io.ByteArrayOutputStream stream = new java.io.ByteArrayOutputStream();
        for (byte[] f : frames) {
            stream.write(f);
        }
        java.io.ByteArrayOutputStream answers = new java.io.ByteArrayOutputStream();
        assertThatThrownBy(() -> MigrationTarget.receive(target,
                java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(stream.toByteArray())),
                java.nio.channels.Channels.newChannel(answers)))
                .isInstanceOf(MigrationException.class).hasMessageContaining(message);
        // The source hears why: the last answer is an ERROR frame.
        assertThat(answers.toByteArray()).isNotEmpty();
    }

    /**
     * Reads through to {@code channel}, counting, so that a test can wait until a stream is well
     * under way; closes it once {@code cutAfter} bytes have been read: a target that dies.
     */
    private static final class WatchedChannel implements ReadableByteChannel {
        private final SocketChannel channel;
        private final long cutAfter;
        private final AtomicLong read = new AtomicLong();

        private WatchedChannel(SocketChannel channel, long cutAfter) {
            this.channel = channel;
            this.cutAfter = cutAfter;
        }

        static WatchedChannel counting(SocketChannel channel) {
            return new WatchedChannel(channel, Long.MAX_VALUE);
        }

        static WatchedChannel cutting(SocketChannel channel, long after) {
            return new WatchedChannel(channel, after);
        }

        void awaitAtLeast(long bytes, Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            while (read.get() < bytes && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(read.get()).as("bytes the target read").isGreaterThanOrEqualTo(bytes);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (read.get() >= cutAfter) {
                channel.close();
            }
            int n = channel.read(dst);
            read.addAndGet(Math.max(n, 0));
            return n;
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
