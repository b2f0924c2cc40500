package io.stratus.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.kvm.testing.NbdSockets;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.AttachVolume;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.DescribeRequest;
import io.stratus.proto.v1.DetachVolume;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Pause;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.Unpause;
import io.stratus.proto.v1.VolumeAttachment;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Volumes on running guests of the qemu driver (QEMU's emulator, as on a host without /dev/kvm):
 * a qcow2 file holding an ext4 file system, exported by {@code qemu-nbd}, is attached to a running
 * Linux guest (the kit's kernel and initramfs, with {@code voltest.sh} appended), which writes a
 * token file to it; detached, and attached to a second guest, which reads the token back. Then the
 * NBD server is killed while the first guest writes files: the guest sees an I/O error, not a hang,
 * and the agent goes on answering. Served again on the same socket, the volume attaches to the
 * second guest again, which mounts it (replaying its journal) and reads the token; the host's
 * {@code e2fsck -fn} finds the file system clean. {@link KvmVolumesIT} runs the same on the kvm
 * driver.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VolumesIT {
    private static final Duration BOOT_WAIT = Duration.ofMinutes(4);
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String HOST = "vol-host";
    static final String VOLUME = "0f4c6a8e-7b1d-4e2a-9c3f-5d6e7f8091a2";
    private static final String TOKEN = "stratus-volume-token-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path dir;

    private LocalBus broker;
    private CommandBus bus;
    private AgentProcess agent;
    private Path nbdSocket;
    private Process nbd;
    private Path volumeFile;

    @BeforeAll
    void start() throws Exception {
        Path kit = kitDir();
        assumeDriverPresent();
        Assumptions.assumeTrue(onPath("qemu-nbd") && onPath("qemu-img"),
                "qemu-utils is not installed: volumes are not tested without qemu-nbd to serve them");
        Path images = Files.createDirectories(dir.resolve("images"));
        Files.copy(kit.resolve("test-kernel/bzImage"), images.resolve("kernel"));
        Files.copy(kit.resolve("initramfs.cpio"), images.resolve("initrd"));
        try (InputStream script = VolumesIT.class.getResourceAsStream("/volumes/voltest.sh")) {
            CpioAppendix.append(images.resolve("initrd"), "voltest.sh", script.readAllBytes());
        }
        Assumptions.assumeTrue(onPath("mkfs.ext4") && onPath("e2fsck") && onPath("debugfs"),
                "e2fsprogs is not installed: the volume's file system cannot be made and checked");
        // The guest's initramfs has no e2fsck (its busybox has mke2fs only): the file system is made
        // and checked here, the guest mounts it.
        Path raw = dir.resolve("volume-initial.raw");
        run("mkfs.ext4", "-q", "-F", "-L", "voltest", raw.toString(), "64M");
        volumeFile = dir.resolve("volume.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), volumeFile.toString());
        Files.delete(raw);
        // A short path: a Unix socket's is at most 107 bytes.
        nbdSocket = Files.createTempDirectory(Path.of("/tmp"), "voltest").resolve("nbd.sock");
        nbd = serve();
        broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")), dir.resolve("pki"),
                List.of());
        bus = new CommandBus(broker.controlPlane());
        Map<String, String> settings = new java.util.HashMap<>(Map.of("stratus.agent.capacity.vcpus", "8",
                "stratus.agent.capacity.memory-mib", "2048", "stratus.agent.report-interval", "1s"));
        settings.putAll(driverSettings(dir));
        agent = new AgentProcess(HOST, dir.resolve(HOST), images, broker.agent(HOST), settings).start();
    }

    /** Skips the class where its driver cannot run. */
    void assumeDriverPresent() {
        Assumptions.assumeTrue(onPath("qemu-system-x86_64"),
                "QEMU (qemu-system-x86) is not installed: volumes on the qemu driver are not tested");
    }

    /**
     * The serial a guest reads from a volume attached while it runs ({@code /sys/block/vda/serial}).
     * QEMU's is empty: virtio-blk's {@code serial} is a device property, fixed when the device is
     * realized (QEMU 7.2 refuses {@code qom-set} on it afterwards), and the slot's device is made
     * at boot, before the volume is known; microvm's virtio-mmio buses take no hotplug that could
     * make a new device (see the agent's README).
     */
    String hotAttachedSerial() {
        return "";
    }

    /** The agent's settings that pick the driver under test. */
    Map<String, String> driverSettings(Path dir) {
        return Map.of("stratus.agent.driver", "qemu", "stratus.agent.qemu.accel", "tcg", "stratus.agent.kvm-device",
                dir.resolve("no-kvm").toString());
    }

    @AfterAll
    void stopAll() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (bus != null) {
            bus.close();
        }
        if (broker != null) {
            broker.close();
        }
        if (nbd != null) {
            nbd.destroyForcibly().waitFor();
        }
        if (nbdSocket != null) {
            Files.deleteIfExists(nbdSocket);
            Files.deleteIfExists(nbdSocket.getParent());
        }
    }

    @Test
    void aVolumeWrittenByOneGuestIsReadByAnotherAndItsServersEndIsAnIoErrorNotAHangAndItsFileSystemSurvives()
            throws Exception {
        HostReport report = AgentServiceGrpc.newBlockingStub(agent.channel()).describe(
                DescribeRequest.getDefaultInstance());
        // Both drivers move a guest with volumes live (the same exports opened in the same slots at the target).
        assertThat(report.getTraitsList()).contains("CUSTOM_STRATUS_VOLUME_ATTACH",
                "CUSTOM_STRATUS_LIVE_MIGRATION_VOLUMES");
        String writer = "i-writer";
        String reader = "i-reader";
        send(boot(writer, "VOLTOKEN=" + TOKEN), InstanceState.ACTIVE);
        send(boot(reader, ""), InstanceState.ACTIVE);
        agent.awaitConsole(writer, Pattern.compile("VOLTEST-WAITING"), BOOT_WAIT);

        // An export nobody serves: refused with the reason, the guest's slots as they were.
        InstanceEvent unreachable = answer(attach(writer, VolumeAttachment.newBuilder().setVolumeId("vol-none")
                .setAttachmentId("att-none").setNbdUri("nbd+unix:///none?socket=" + dir.resolve("none.sock"))));
        assertThat(unreachable.getFault().getCode()).isEqualTo("VolumeUnreachable");
        assertThat(unreachable.getVolumeId()).isEqualTo("vol-none");

        InstanceEvent attached = send(attach(writer, volume("att-1")), InstanceState.ACTIVE);
        assertThat(attached.getVolumeId()).isEqualTo(VOLUME);
        String console = agent.awaitConsole(writer, Pattern.compile("VOLTEST-WRITTEN|VOLTEST-WRITE-FAILED"), WAIT);
        assertThat(console).contains("VOLTEST-ATTACHED sectors=131072 serial=[" + hotAttachedSerial() + "]",
                "VOLTEST-WRITTEN");
        // Redelivered under a new request, the same attachment changes nothing.
        send(attach(writer, volume("att-1")), InstanceState.ACTIVE);
        send(detach(writer, "att-1"), InstanceState.ACTIVE);
        agent.awaitConsole(writer, Pattern.compile("VOLTEST-DETACHED"), WAIT);

        agent.awaitConsole(reader, Pattern.compile("VOLTEST-WAITING"), BOOT_WAIT);
        send(attach(reader, volume("att-2")), InstanceState.ACTIVE);
        assertThat(agent.awaitConsole(reader, Pattern.compile("VOLTEST-RELEASED|VOLTEST-MOUNT-FAILED"), WAIT))
                .contains("VOLTEST-READ [" + TOKEN + "]", "VOLTEST-RELEASED");
        send(detach(reader, "att-2"), InstanceState.ACTIVE);
        agent.awaitConsole(reader, Pattern.compile("VOLTEST-DETACHED"), WAIT);

        // The server goes while the writer writes: its writes fail, they do not wait forever.
        send(attach(writer, volume("att-3")), InstanceState.ACTIVE);
        agent.awaitConsole(writer, Pattern.compile("VOLTEST-WROTE \\d+"), WAIT);
        nbd.destroyForcibly().waitFor();
        agent.awaitConsole(writer, Pattern.compile("VOLTEST-IOERROR"), WAIT);
        // The agent goes on: the guests are driven as before; the volume cannot be flushed, so it stays.
        InstanceEvent unflushed = answer(detach(writer, "att-3"));
        assertThat(unflushed.getFault().getCode()).isEqualTo("VolumeUnreachable");
        assertThat(unflushed.getVolumeId()).isEqualTo(VOLUME);
        send(envelope(writer).setPause(Pause.getDefaultInstance()), InstanceState.PAUSED);
        send(envelope(writer).setUnpause(Unpause.getDefaultInstance()), InstanceState.ACTIVE);

        // The server back on the same socket: QEMU's client (or the kvm slot's flush, on a fresh
        // connection) reaches it again, the detach goes through, and the volume attaches elsewhere:
        // its guest mounts it (replaying the journal the killed writes left) and finds the token.
        nbd = serve();
        send(detach(writer, "att-3"), InstanceState.ACTIVE);
        send(attach(reader, volume("att-4")), InstanceState.ACTIVE);
        assertThat(agent.awaitConsole(reader, Pattern.compile("VOLTEST-REREAD \\[.*\\][\\s\\S]*VOLTEST-RELEASED"
                + "|VOLTEST-MOUNT-FAILED"), WAIT)).contains("VOLTEST-REREAD [" + TOKEN + "]");
        send(detach(reader, "att-4"), InstanceState.ACTIVE);
        send(envelope(writer).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
        send(envelope(reader).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
        nbd.destroy();
        nbd.waitFor();
        // The file system is clean (e2fsck -n: nothing changed, exit 0 only when nothing is wrong),
        // and the token file holds what the writer wrote before the server's death.
        Path raw = dir.resolve("volume.raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", volumeFile.toString(), raw.toString());
        assertThat(run("e2fsck", "-fn", raw.toString())).contains("voltest:");
        assertThat(run("debugfs", "-R", "cat /token", raw.toString())).contains(TOKEN);
    }

    private Process serve() throws Exception {
        Files.deleteIfExists(nbdSocket);
        Process p = new ProcessBuilder("qemu-nbd", "--persistent", "-f", "qcow2", "-x", "vol", "-k",
                nbdSocket.toString(), volumeFile.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        NbdSockets.awaitListening(p, nbdSocket, dir.resolve("qemu-nbd.log"), Duration.ofSeconds(30));
        return p;
    }

    private VolumeAttachment.Builder volume(String attachmentId) {
        return VolumeAttachment.newBuilder().setVolumeId(VOLUME).setAttachmentId(attachmentId)
                .setNbdUri("nbd+unix:///vol?socket=" + nbdSocket).setSizeBytes(64 << 20).setDevice("/dev/vda");
    }

    private static CommandEnvelope.Builder envelope(String id) {
        return CommandEnvelope.newBuilder().setRequestId("req-" + UUID.randomUUID()).setInstanceId(id)
                .setTenantId("t1");
    }

    private static CommandEnvelope.Builder attach(String id, VolumeAttachment.Builder v) {
        return envelope(id).setAttachVolume(AttachVolume.newBuilder().setVolume(v));
    }

    private static CommandEnvelope.Builder detach(String id, String attachmentId) {
        return envelope(id).setDetachVolume(DetachVolume.newBuilder().setVolumeId(VOLUME)
                .setAttachmentId(attachmentId));
    }

    /** A guest of the kit's Linux whose initramfs runs voltest.sh; {@code env}: NAME=value for it. */
    private static CommandEnvelope.Builder boot(String id, String env) {
        return envelope(id).setBoot(Boot.newBuilder().setName(id).setFlavor("m1").setResources(Resources.newBuilder()
                .setVcpus(1).setMemoryMib(160)).setSource(BootSource.newBuilder().setKernelImageId("kernel")
                .setRamdiskImageId("initrd").setKernelCmdline(("panic=-1 stratus.run=/voltest.sh " + env).strip())));
    }

    private InstanceEvent answer(CommandEnvelope.Builder env) {
        CommandEnvelope built = env.build();
        bus.send(HOST, built);
        return bus.await(x -> x.getRequestId().equals(built.getRequestId())
                && (x.getTaskState() == TaskState.NONE || x.hasFault()), WAIT);
    }

    private InstanceEvent send(CommandEnvelope.Builder env, InstanceState state) {
        InstanceEvent e = answer(env);
        assertThat(e.getFault().getCode()).as("fault: " + e.getFault().getMessage()).isEmpty();
        assertThat(e.getState()).isEqualTo(state);
        return e;
    }

    private static Path kitDir() {
        String configured = System.getProperty("stratus.kit");
        Path kit = configured != null && !configured.isBlank() && !configured.startsWith("${") ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        Assumptions.assumeTrue(Files.isRegularFile(kit.resolve("test-kernel/bzImage"))
                && Files.isRegularFile(kit.resolve("initramfs.cpio")), "the guest kit is not built in " + kit
                + " (bin/stratus kit builds it): volumes on a running Linux guest are not tested");
        return kit;
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    /** Runs {@code command}, which must succeed; returns its output. */
    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
        return out;
    }
}
