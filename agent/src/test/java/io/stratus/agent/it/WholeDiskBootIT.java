package io.stratus.agent.it;

import static io.stratus.agent.boot.DiskBuilder.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.agent.boot.DiskBuilder;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A whole-disk image booted by an agent on the qemu driver (QEMU's emulator, as on a host without
 * /dev/kvm): a GPT disk made here with sfdisk and mkfs.ext4 whose ext4 partition holds the kit's
 * Debian kernel and initramfs under /boot and a grub.cfg naming them. The guest runs the kit's
 * init and gets grub's arguments (the kernel prints its command line); a disk whose partition
 * table is corrupt ends the boot in ERROR with the reason, and leaves no instance directory.
 */
class WholeDiskBootIT {
    /** Linux under TCG on a busy host: an upper bound, not a timing. */
    private static final Duration BOOT = Duration.ofMinutes(8);
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Resources SIZE = Resources.newBuilder().setVcpus(1).setMemoryMib(256).build();
    private static final String GRUB_CFG = """
            set default="0"
            menuentry 'Stratus kit' --class debian $menuentry_id_option 'kit' {
            \tinsmod ext2
            \tlinux\t/boot/vmlinuz console=ttyS0 panic=-1 stratus.grub=from-grub-cfg
            \tinitrd\t/boot/initrd.img
            }
            """;

    @TempDir
    Path dir;

    private static Path kit() {
        String configured = System.getProperty("stratus.kit");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("STRATUS_KIT_DIR");
        }
        Path kit = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        assumeTrue(Files.isRegularFile(kit.resolve("stock/bzImage"))
                && Files.isRegularFile(kit.resolve("initramfs-stock.cpio")),
                "the guest kit's stock kernel and initramfs are not in " + kit + " (bin/stratus kit)");
        return kit;
    }

    @Test
    void aWholeDiskImageBootsGrubsDefaultEntryAndACorruptOneFailsWithTheReason() throws Exception {
        Path kit = kit();
        DiskBuilder.tool("qemu-system-x86_64", "qemu-system-x86");
        Path images = Files.createDirectories(dir.resolve("images"));
        Path root = Files.createDirectories(dir.resolve("root/boot/grub"));
        Files.copy(kit.resolve("stock/bzImage"), root.resolveSibling("vmlinuz"));
        Files.copy(kit.resolve("initramfs-stock.cpio"), root.resolveSibling("initrd.img"));
        Files.writeString(root.resolve("grub.cfg"), GRUB_CFG);
        Path disk = DiskBuilder.partitioned(images.resolve("whole"), 48,
                "label: gpt\nstart=2048, size=90112, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        DiskBuilder.ext4(disk, MIB, 90112 * 512L, dir.resolve("root"));
        Path corrupt = Files.copy(disk, images.resolve("corrupt"));
        DiskBuilder.patch(corrupt, 512 + 40, new byte[] {0x7f});

        try (LocalBus broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")),
                dir.resolve("pki"), List.of());
             CommandBus bus = new CommandBus(broker.controlPlane());
             AgentProcess agent = new AgentProcess("disk-host", dir.resolve("disk-host"), images,
                     broker.agent("disk-host"), Map.of("stratus.agent.driver", "qemu", "stratus.agent.qemu.accel", "tcg",
                     "stratus.agent.kvm-device", dir.resolve("no-kvm").toString(),
                     "stratus.agent.capacity.memory-mib", "1024", "stratus.agent.report-interval", "1s")).start()) {
            String id = "i-whole";
            InstanceEvent booted = send(bus, boot(id, "whole"));
            assertThat(booted.getFault().getMessage()).isEmpty();
            assertThat(booted.getState()).isEqualTo(InstanceState.ACTIVE);

            String console = agent.awaitConsole(id, Pattern.compile("STRATUS-GUEST-READY"), BOOT);
            Path found = dir.resolve("disk-host/image-cache/derived");
            assertThat(found).isDirectoryRecursivelyContaining("glob:**/boot/boot.properties");
            try (var boots = Files.find(found, 8, (p, a) -> p.endsWith("boot/boot.properties"))) {
                Properties boot = new Properties();
                try (var in = Files.newInputStream(boots.findFirst().orElseThrow())) {
                    boot.load(in);
                }
                assertThat(boot.getProperty("cmdline")).as("what the agent found on the image, kept for its next boots")
                        .startsWith("console=ttyS0 panic=-1 stratus.grub=from-grub-cfg");
            }
            // The kernel's own line: on a starved host the serial console can lose a byte or two (CI
            // once showed "from" as "fm"), so only that the entry's own word reached the kernel.
            Matcher cmdline = Pattern.compile("Command line: (.*)").matcher(console);
            assertThat(cmdline.find()).as("the kernel's own line:\n" + console).isTrue();
            assertThat(cmdline.group(1)).contains("stratus.grub=").contains("OpenStack Nova");
            send(bus, envelope(id).setDelete(Delete.getDefaultInstance()));

            CommandEnvelope bad = boot("i-corrupt", "corrupt").build();
            bus.send("disk-host", bad);
            InstanceEvent refused = bus.await(e -> e.getRequestId().equals(bad.getRequestId())
                    && e.getTaskState() == TaskState.NONE, WAIT);
            assertThat(refused.getState()).isEqualTo(InstanceState.ERROR);
            assertThat(refused.getFault().getCode()).isEqualTo("ImageNotBootable");
            assertThat(refused.getFault().getMessage()).isEqualTo("image corrupt is not bootable: GPT header CRC"
                    + " mismatch: the partition table is corrupt");
            assertThat(dir.resolve("disk-host/instances/i-corrupt")).doesNotExist();
            assertThat(dir.resolve("disk-host/image-cache/partial")).isEmptyDirectory();
        }
    }

    /**
     * The kit's small cloud image (GPT, ext4, grub.cfg naming the test kernel's bzImage and an initrd
     * that mounts the root by UUID) on each driver: the same spec, found on the disk, boots to its
     * ssh server. With no NIC and no config drive it has no identity, and says so.
     */
    @ParameterizedTest(name = "{0} driver")
    @ValueSource(strings = {"qemu", "kvm"})
    void theKitsSmallCloudImageBootsToItsSshServer(String driver) throws Exception {
        Path kit = kit();
        Path image = kit.resolve("cloud-small.qcow2");
        assumeTrue(Files.isRegularFile(image), "the kit has no cloud-small.qcow2 in " + kit + " (bin/stratus kit)");
        Map<String, String> settings = new java.util.HashMap<>(Map.of("stratus.agent.capacity.memory-mib", "1024",
                "stratus.agent.report-interval", "1s"));
        if (driver.equals("kvm")) {
            assumeTrue(Files.exists(Path.of("/dev/kvm")), "the kvm driver needs /dev/kvm, which this host lacks"
                    + " (the qemu driver's run of this test covers the image here)");
            settings.put("stratus.agent.driver", "kvm");
        } else {
            DiskBuilder.tool("qemu-system-x86_64", "qemu-system-x86");
            settings.putAll(Map.of("stratus.agent.driver", "qemu", "stratus.agent.qemu.accel", "tcg",
                    "stratus.agent.kvm-device", dir.resolve("no-kvm").toString()));
        }
        Path images = Files.createDirectories(dir.resolve("images"));
        Files.copy(image, images.resolve("cloud-small"));
        try (LocalBus broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")),
                dir.resolve("pki"), List.of());
             CommandBus bus = new CommandBus(broker.controlPlane());
             AgentProcess agent = new AgentProcess("disk-host", dir.resolve("disk-host"), images,
                     broker.agent("disk-host"), settings).start()) {
            String id = "i-small-" + driver;
            InstanceEvent booted = send(bus, boot(id, "cloud-small"));
            assertThat(booted.getFault().getMessage()).isEmpty();
            assertThat(booted.getState()).isEqualTo(InstanceState.ACTIVE);
            String console = agent.awaitConsole(id, Pattern.compile("STRATUS-SSH-READY"), BOOT);
            assertThat(console).contains("STRATUS-IDENTITY source=none");
            send(bus, envelope(id).setDelete(Delete.getDefaultInstance()));
        }
    }

    private static CommandEnvelope.Builder envelope(String id) {
        return CommandEnvelope.newBuilder().setRequestId("req-" + UUID.randomUUID()).setInstanceId(id)
                .setTenantId("t1");
    }

    /** A boot of the whole-disk image {@code image}: a disk and no kernel, as the scheduler sends it. */
    private static CommandEnvelope.Builder boot(String id, String image) {
        return envelope(id).setBoot(Boot.newBuilder().setName(id).setFlavor("m1").setResources(SIZE)
                .setSource(BootSource.newBuilder().setImageId(image)));
    }

    private static InstanceEvent send(CommandBus bus, CommandEnvelope.Builder env) {
        CommandEnvelope built = env.build();
        bus.send("disk-host", built);
        return bus.await(x -> x.getRequestId().equals(built.getRequestId())
                && (x.getTaskState() == TaskState.NONE || x.hasFault()), WAIT);
    }

}
