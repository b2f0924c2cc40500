package io.stratus.agent.virt.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.agent.virt.ConsoleOutput;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.agent.virt.MigrationOutcome;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.NbdExport;
import io.stratus.agent.virt.VirtualGuest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The qemu driver's live migration between two of its instances on this host, QEMU's emulator
 * (TCG) at both ends, over an in-memory pipe in place of the agents' gRPC call: a counting guest
 * goes on counting on the target with its disk layer's writes, a garbled stream is refused by the
 * target's QEMU, a target that dies mid-stream leaves the guest running here, and a guest that
 * cannot converge within the rounds is cancelled.
 */
class QemuMigrationTest {
    private static final Pattern COUNT = Pattern.compile("COUNT (\\d+) OK\n");
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private QemuDriver driver;
    private Path kernel;
    private Path base;
    private final List<VirtualGuest> guests = new ArrayList<>();
    private final List<IncomingGuest> incoming = new ArrayList<>();
    private final List<Process> servers = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        QemuDriver.Result r = QemuDriver.probe("qemu-system-x86_64", dir.resolve("no-kvm"), "tcg",
                OptionalLong.empty());
        assumeTrue(r.driver().isPresent(), "no QEMU here: " + r.reason());
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-img")) && Files.isExecutable(Path.of("/usr/bin/qemu-io")),
                "qemu-img and qemu-io (Debian: qemu-utils) make and read the disks");
        driver = r.driver().get();
        kernel = Path.of(System.getProperty("stratus.testGuests"), "migrant.elf");
        base = dir.resolve("base.raw");
        run("qemu-img", "create", "-f", "raw", base.toString(), "8M");
    }

    @AfterEach
    void tearDown() {
        incoming.forEach(IncomingGuest::discard);
        guests.forEach(VirtualGuest::stop);
        servers.forEach(Process::destroy);
    }

    /** The instance on one host: its own qcow2 layer over this test's base image, as the agent makes it. */
    private GuestSpec spec(String host, String cmdline) throws Exception {
        Path instance = Files.createDirectories(dir.resolve(host).resolve("i-1"));
        Path layer = instance.resolve("disk.qcow2");
        if (!Files.exists(layer)) {
            run("qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", base.toString(), layer.toString(), "8M");
        }
        return new GuestSpec("i-1", instance, kernel, Optional.empty(), cmdline, 1, 64,
                List.of(new GuestSpec.Disk(layer, GuestSpec.Format.QCOW2, false)), List.of(), true);
    }

    @Test
    void aCountingGuestGoesOnCountingOnTheTargetWithItsDiskLayer() throws Exception {
        String cmdline = "mig.kib=1024 mig.every=4";
        GuestSpec source = spec("one", cmdline);
        // What the guest wrote to its disk: the layer's data, which the target's layer does not have yet.
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 64k", source.disks().get(0).path().toString());
        Console before = new Console();
        VirtualGuest guest = spawn(source, before);
        long counted = before.await(3);

        Console after = new Console();
        Move move = move(guest, spec("two", cmdline), after, limits(Duration.ofMillis(300), 30,
                OptionalLong.empty()));
        MigrationOutcome outcome = move.outcome();

        assertThat(outcome.downtime()).isPresent();
        VirtualGuest moved = move.guest();
        assertThat(moved.paused()).as("it runs on the target").isFalse();
        assertThat(((QemuGuest) guest).qmp().execute("query-status").path("status").asText())
                .as("QEMU here holds it after the switch-over").isEqualTo("postmigrate");
        long next = after.await(counted + 2);
        assertThat(after.counts().get(0)).as("it went on, it did not start again: " + after.text())
                .isGreaterThan(counted);
        System.out.printf("qemu live migration: counted to %d here, on to %d there; %s%n", counted, next,
                outcome.summary());
        guest.stop();
        moved.stop();
        run("qemu-io", "-f", "qcow2", "-r", "-c", "read -P 0x5a 1M 64k", dir.resolve("two/i-1/disk.qcow2").toString());
    }

    @Test
    void aGarbledStreamIsRefusedByTheTargetsQemuWhichEnds() throws Exception {
        IncomingGuest target = driver.incoming(spec("two", ""), new Console());
        incoming.add(target);
        long pid = Long.parseLong(Files.readString(dir.resolve("two/i-1/qemu.pid")).strip());
        Link link = new Link();
        CompletableFuture<VirtualGuest> arrived = receive(target, link);
        // Less than the in-memory pipe holds: the target may stop reading at its first bytes, and a
        // larger write would then wait for ever here (the agents' call ends instead).
        byte[] noise = new byte[16 << 10];
        new Random(7).nextBytes(noise);
        link.source.write(ByteBuffer.wrap(noise));
        link.source.endOutput();

        assertThat(arrived).failsWithin(WAIT).withThrowableOfType(Exception.class)
                .withCauseInstanceOf(HypervisorException.class).withMessageContaining("did not arrive");
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("the target's QEMU").isNotEqualTo(
                Optional.of(true));
        assertThatThrownBy(link.source::awaitPeerEnd).as("the source hears the refusal")
                .isInstanceOf(IOException.class);
    }

    @Test
    void aTargetThatDiesMidStreamLeavesTheGuestRunningHere() throws Exception {
        String cmdline = "mig.kib=16384 mig.every=4";
        Console before = new Console();
        VirtualGuest guest = spawn(spec("one", cmdline), before);
        long counted = before.await(2);
        Link link = new Link();
        // The target reads a little of the stream, then is gone.
        Thread dying = new Thread(() -> {
            try {
                ByteBuffer b = ByteBuffer.allocate(64 << 10);
                link.target.read(b);
                link.kill();
            } catch (IOException e) {
                link.kill();
            }
        });
        dying.start();
        assertThatThrownBy(() -> driver.migrate(guest, link.source, limits(Duration.ofMillis(300), 30,
                OptionalLong.of(2L << 20)))).isInstanceOf(HypervisorException.class);
        assertThat(guest.paused()).isFalse();
        before.await(counted + 2);
    }

    /**
     * Under TCG the guest is paused for the copy (QEMU's dirty tracking there loses writes): a guest
     * that rewrites 4 MiB as fast as it can — one that would never converge live — arrives whole,
     * every page checked by the guest itself, and counts on. (Cancelling a copy that does not
     * converge is live migration's, with KVM: MigrationIT covers it on /dev/kvm hosts.)
     */
    @Test
    void underTcgABusyGuestIsCopiedPausedAndArrivesWhole() throws Exception {
        String cmdline = "mig.kib=4096 mig.delay=0 mig.every=64";
        Console before = new Console();
        VirtualGuest guest = spawn(spec("one", cmdline), before);
        long counted = before.await(1);
        Console after = new Console();
        Move move = move(guest, spec("two", cmdline), after, limits(Duration.ofMillis(1), 2,
                OptionalLong.empty()));
        MigrationOutcome outcome = move.outcome();
        assertThat(outcome.summary()).contains("paused for the whole copy");
        assertThat(outcome.downtime().orElseThrow()).as("the downtime is the whole copy").isPositive();
        VirtualGuest moved = move.guest();
        after.await(counted + 2);
        assertThat(after.text()).as("every page arrived as the guest left it").doesNotContain("BAD");
    }

    /**
     * A volume on an NBD export (qemu-nbd, which takes several clients, as the volume service runs
     * it) in the guest's second slot, its first empty (a detach from a middle slot): the target
     * builds the source's layout from what the source's QEMU says, opens the same export in the
     * same slot, and the stream carries none of the volume (QEMU's block migration copies every
     * writable disk it finds, and would write it onto itself); the source lets go of the export.
     */
    @Test
    void aVolumeIsOpenedInItsSlotOnTheTargetAndNotCopied() throws Exception {
        GuestSpec.Volume volume = volume();
        String cmdline = "mig.kib=1024 mig.every=4";
        Console before = new Console();
        QemuGuest guest = (QemuGuest) spawn(withVolume(spec("one", cmdline), volume.inSlot(1)), before);
        long counted = before.await(2);
        List<String> layout = guest.volumeSlots(List.of(volume.attachmentId()));
        assertThat(layout).containsExactly("", volume.attachmentId());

        Console after = new Console();
        Move move = move(guest, withVolume(spec("two", cmdline), volume).withSlots(layout), after,
                limits(Duration.ofMillis(300), 30, OptionalLong.empty()));
        MigrationOutcome outcome = move.outcome();
        Link link = move.link();

        assertThat(outcome.summary()).contains("1 volumes reopened by the target, not copied");
        QemuGuest moved = (QemuGuest) move.guest();
        after.await(counted + 2);
        assertThat(moved.volumeSlots(List.of(volume.attachmentId()))).as("the same slot on the target")
                .containsExactly("", volume.attachmentId());
        assertThat(nbdNodes(guest)).as("the source let go of the export").isEmpty();
        assertThat(link.source.written()).as("the stream: memory and devices, not the volume's %d MiB",
                VOLUME_BYTES >> 20).isLessThan(VOLUME_BYTES / 2);
        moved.stop();
        run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x7e 0 4M", volumeUri());
    }

    /**
     * A guest booted from a volume, with no disk of its own: QEMU's plain migration, no block copy
     * (the stream carries none of the volume), the target's root disk the same export, opened while
     * the source still reads it (qemu-nbd takes several clients); the guest is not paused for it.
     */
    @Test
    void aGuestBootedFromAVolumeMovesWithoutAnyDiskCopied() throws Exception {
        GuestSpec.Volume root = bootVolume(volume());
        String cmdline = "mig.kib=1024 mig.every=4";
        Console before = new Console();
        QemuGuest guest = (QemuGuest) spawn(bootedFrom(spec("one", cmdline), root), before);
        long counted = before.await(2);
        assertThat(VolumeSlots.onlyVolumesWritable(guest.qmp())).isTrue();
        List<String> layout = guest.volumeSlots(List.of(root.attachmentId()));

        Console after = new Console();
        Move move = move(guest, bootedFrom(spec("two", cmdline), root).withSlots(layout), after,
                limits(Duration.ofMillis(300), 30, OptionalLong.empty()));
        MigrationOutcome outcome = move.outcome();
        Link link = move.link();

        assertThat(outcome.summary()).contains("no disk copied").doesNotContain("KiB of disk");
        QemuGuest moved = (QemuGuest) move.guest();
        after.await(counted + 2);
        assertThat(nbdNodes(moved)).as("its root disk on the target").hasSize(1);
        assertThat(link.source.written()).as("the stream: memory and devices, not the volume's %d MiB",
                VOLUME_BYTES >> 20).isLessThan(VOLUME_BYTES / 2);
        System.out.printf("qemu live migration of a guest booted from a volume: %s; %d KiB streamed%n",
                outcome.summary(), link.source.written() >> 10);
        guest.stop();
        moved.stop();
        run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x7e 0 4M", volumeUri());
    }

    /** A migration that fails puts the volume back into its slot before the guest runs on here. */
    @Test
    void aFailedMigrationPutsTheVolumeBackInItsSlot() throws Exception {
        GuestSpec.Volume volume = volume();
        String cmdline = "mig.kib=16384 mig.every=4";
        Console before = new Console();
        QemuGuest guest = (QemuGuest) spawn(withVolume(spec("one", cmdline), volume.inSlot(1)), before);
        long counted = before.await(2);
        Link link = new Link();
        Thread dying = new Thread(() -> {
            try {
                link.target.read(ByteBuffer.allocate(64 << 10));
            } catch (IOException e) {
                // Gone either way.
            }
            link.kill();
        });
        dying.start();

        assertThatThrownBy(() -> driver.migrate(guest, link.source, limits(Duration.ofMillis(300), 30,
                OptionalLong.of(2L << 20)))).isInstanceOf(HypervisorException.class);

        assertThat(guest.paused()).isFalse();
        before.await(counted + 2);
        assertThat(guest.volumeSlots(List.of(volume.attachmentId()))).containsExactly("", volume.attachmentId());
        assertThat(nbdNodes(guest)).hasSize(1);
        run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x7e 0 4M", volumeUri());
    }

    private static final long VOLUME_BYTES = 32L << 20;

    /** A 32 MiB volume of 0x7e bytes served by qemu-nbd on a Unix socket of this test. */
    private GuestSpec.Volume volume() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")), "qemu-nbd (Debian: qemu-utils) serves volumes");
        Path file = dir.resolve("vol.qcow2");
        run("qemu-img", "create", "-f", "qcow2", file.toString(), Long.toString(VOLUME_BYTES));
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x7e 0 " + VOLUME_BYTES, file.toString());
        Process nbd = new ProcessBuilder("qemu-nbd", "--persistent", "--shared=4", "--format=qcow2",
                "--socket=" + dir.resolve("nbd.sock"), "--export-name=vol", file.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nbd.log").toFile()).start();
        servers.add(nbd);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(dir.resolve("nbd.sock")) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return new GuestSpec.Volume("vol-0123456789abcdef", "att-1", NbdExport.parse(volumeUri()), false, false);
    }

    private String volumeUri() {
        return "nbd+unix:///vol?socket=" + dir.resolve("nbd.sock");
    }

    private static GuestSpec withVolume(GuestSpec s, GuestSpec.Volume v) {
        return new GuestSpec(s.instanceId(), s.instanceDir(), s.kernel(), s.initrd(), s.cmdline(), s.vcpus(),
                s.memoryMiB(), s.disks(), s.nics(), s.entropy(), List.of(v), 2, false);
    }

    private static GuestSpec.Volume bootVolume(GuestSpec.Volume v) {
        return new GuestSpec.Volume(v.volumeId(), v.attachmentId(), v.export(), false, true);
    }

    /** {@code s} without its disk, booting {@code root} as its first disk. */
    private static GuestSpec bootedFrom(GuestSpec s, GuestSpec.Volume root) {
        return new GuestSpec(s.instanceId(), s.instanceDir(), s.kernel(), s.initrd(), s.cmdline(), s.vcpus(),
                s.memoryMiB(), List.of(), s.nics(), s.entropy(), List.of(root), 2, false);
    }

    private static List<String> nbdNodes(QemuGuest g) {
        List<String> out = new ArrayList<>();
        g.qmp().execute("query-named-block-nodes", Qmp.arguments().put("flat", true)).forEach(n -> {
            if (n.path("drv").asText().equals("nbd")) {
                out.add(n.path("node-name").asText());
            }
        });
        return out;
    }

    private static MigrationLimits limits(Duration downtime, int rounds, OptionalLong bandwidth) {
        return new MigrationLimits(downtime, rounds, bandwidth);
    }

    private VirtualGuest spawn(GuestSpec spec, Console console) {
        VirtualGuest g = driver.spawn(spec, console);
        guests.add(g);
        return g;
    }

    /** What a completed move left: the source's outcome, the guest running on the target, the link it went over. */
    private record Move(MigrationOutcome outcome, VirtualGuest guest, Link link) {
    }

    /**
     * Moves {@code guest} to a target built from {@code targetSpec}, as the agents do (the target
     * receives on its own thread); the move must complete, and the target's guest is then stopped
     * with the test's other guests.
     */
    private Move move(VirtualGuest guest, GuestSpec targetSpec, Console after, MigrationLimits limits)
            throws Exception {
        IncomingGuest target = driver.incoming(targetSpec, after);
        incoming.add(target);
        Link link = new Link();
        CompletableFuture<VirtualGuest> arrived = receive(target, link);
        MigrationOutcome outcome = driver.migrate(guest, link.source, limits);
        assertThat(outcome.completed()).as(outcome.summary()).isTrue();
        VirtualGuest moved = arrived.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        incoming.remove(target);
        guests.add(moved);
        return new Move(outcome, moved, link);
    }

    /** The target's end, as the agent runs it: receive, then end its side (normally when the guest runs). */
    private static CompletableFuture<VirtualGuest> receive(IncomingGuest target, Link link) {
        CompletableFuture<VirtualGuest> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(target.receive(link.target));
                link.answer(true);
            } catch (RuntimeException e) {
                link.answer(false);
                f.completeExceptionally(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
        assertThat(out).as(String.join(" ", command)).doesNotContain("Pattern verification failed");
    }

    /** A guest's console, kept. */
    private static final class Console implements ConsoleOutput {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(byte[] b, int offset, int length) {
            bytes.write(b, offset, length);
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.US_ASCII);
        }

        List<Long> counts() {
            List<Long> c = new ArrayList<>();
            Matcher m = COUNT.matcher(text());
            while (m.find()) {
                c.add(Long.parseLong(m.group(1)));
            }
            return c;
        }

        /** Waits for a count of at least {@code least}; the last count. */
        long await(long least) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                List<Long> c = counts();
                if (!c.isEmpty() && c.get(c.size() - 1) >= least) {
                    return c.get(c.size() - 1);
                }
                Thread.sleep(50);
            }
            throw new AssertionError("never counted to " + least + ": " + text());
        }
    }

    /**
     * Two hosts' ends of a migration stream, in memory: each direction a pipe; a target that ends
     * its side says whether the guest runs there, as the agents' call does with its status.
     */
    private static final class Link {
        private final Pipe forward = open();
        private final Pipe backward = open();
        private final CompletableFuture<Boolean> verdict = new CompletableFuture<>();
        final End source = new End(backward.source(), forward.sink());
        final End target = new End(forward.source(), backward.sink());

        private static Pipe open() {
            try {
                return Pipe.open();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        void answer(boolean arrived) {
            verdict.complete(arrived);
            try {
                backward.sink().close();
            } catch (IOException e) {
                // Closed already.
            }
        }

        /** The target host is gone: both directions break. */
        void kill() {
            verdict.complete(false);
            try {
                forward.source().close();
                backward.sink().close();
            } catch (IOException e) {
                // Closed already.
            }
        }

        final class End implements MigrationPipe {
            private final Pipe.SourceChannel in;
            private final Pipe.SinkChannel out;
            private final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();

            long written() {
                return written.get();
            }

            End(Pipe.SourceChannel in, Pipe.SinkChannel out) {
                this.in = in;
                this.out = out;
            }

            @Override
            public int read(ByteBuffer dst) throws IOException {
                return in.read(dst);
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                int n = 0;
                while (src.hasRemaining()) {
                    n += out.write(src);
                }
                written.addAndGet(n);
                return n;
            }

            @Override
            public void endOutput() throws IOException {
                out.close();
            }

            @Override
            public void awaitPeerEnd() throws IOException {
                ByteBuffer b = ByteBuffer.allocate(4096);
                while (in.read(b) >= 0) {
                    if (b.position() > 0) {
                        throw new IOException("the peer sent data where none was expected");
                    }
                }
                if (!verdict.getNow(false)) {
                    throw new IOException("the target failed");
                }
            }

            @Override
            public boolean isOpen() {
                return in.isOpen() || out.isOpen();
            }

            @Override
            public void close() throws IOException {
                in.close();
                out.close();
            }
        }
    }
}
