package io.stratus.agent.boot;

import static io.stratus.agent.boot.DiskBuilder.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageException;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import io.stratus.kvm.testing.NbdSockets;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole-disk images built here with sfdisk, mkfs.ext4 and qemu-img, the ways cloud images are
 * laid out (GPT with BIOS boot, root and EFI partitions; MBR; a bare filesystem; a separate
 * /boot), inspected through the image cache as a boot does; and images that are not bootable,
 * each refused with an {@code ImageNotBootable} that says why, leaving nothing behind.
 */
class WholeDiskBootsTest {
    private static final String LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    private static final String BIOS = "21686148-6449-6E6F-744E-656564454649";
    private static final String ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    private static final String UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    private static final String GPT = "label: gpt\nstart=2048, size=2048, type=" + BIOS + "\nstart=4096, size=32768,"
            + " type=" + LINUX + "\nstart=36864, size=4096, type=" + ESP + "\n";
    private static final byte[] KERNEL = DiskBuilder.fakeBzImage("kernel 6.1.0-28");
    private static final byte[] INITRD = "070701 an initramfs".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;
    private Path images;
    private ImageCache cache;
    private WholeDiskBoots boots;

    @BeforeEach
    void cache() throws Exception {
        images = Files.createDirectories(dir.resolve("images"));
        cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1L << 30, Set::of,
                Clock.systemUTC());
        boots = new WholeDiskBoots(cache, DiskBuilder.tool("debugfs", "e2fsprogs"));
    }

    /** The cache holds nothing half-made, whatever happened. */
    @AfterEach
    void nothingLeftBehind() {
        assertThat(dir.resolve("cache/partial")).isEmptyDirectory();
    }

    /** A root tree with a Debian-like /boot: the kernel, its initrd, and a grub.cfg of {@code grubCfg}. */
    private Path root(String name, String grubCfg) throws Exception {
        Path root = Files.createDirectories(dir.resolve(name));
        Files.createDirectories(root.resolve("boot/grub"));
        Files.write(root.resolve("boot/vmlinuz-6.1.0-28-cloud-amd64"), KERNEL);
        Files.write(root.resolve("boot/initrd.img-6.1.0-28-cloud-amd64"), INITRD);
        Files.createSymbolicLink(root.resolve("vmlinuz"), Path.of("boot/vmlinuz-6.1.0-28-cloud-amd64"));
        Files.createSymbolicLink(root.resolve("initrd.img"), Path.of("boot/initrd.img-6.1.0-28-cloud-amd64"));
        if (grubCfg != null) {
            Files.writeString(root.resolve("boot/grub/grub.cfg"), grubCfg);
        }
        return root;
    }

    private static String debianGrubCfg() throws Exception {
        try (var in = WholeDiskBootsTest.class.getResourceAsStream("/boot/debian-12-genericcloud.grub.cfg")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A Debian cloud image's layout: BIOS boot, ext4 root (partition 2 here), EFI system partition. */
    private Path debianLike(String name) throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve(name), 24, GPT);
        DiskBuilder.ext4(disk, 4096 * 512L, 32768 * 512L, root(name + "-root", debianGrubCfg()), UUID);
        return disk;
    }

    private BootFiles resolve(String id) {
        try (ImageCache.Lease lease = cache.acquire(id, "")) {
            return boots.resolve(id, lease);
        }
    }

    private ImageException refused(String id) {
        try (ImageCache.Lease lease = cache.acquire(id, "")) {
            ImageException e = (ImageException) org.assertj.core.api.Assertions.catchThrowable(
                    () -> boots.resolve(id, lease));
            assertThat(e).as("a refusal").isNotNull();
            assertThat(e.code()).isEqualTo("ImageNotBootable");
            assertThat(cache.derived(lease, WholeDiskBoots.DERIVED)).as("nothing kept of a refusal").isEmpty();
            return e;
        }
    }

    private static void assertDebianBoot(BootFiles b) throws Exception {
        assertThat(Files.readAllBytes(b.kernel())).isEqualTo(KERNEL);
        assertThat(b.initrd()).isPresent();
        assertThat(Files.readAllBytes(b.initrd().get())).isEqualTo(INITRD);
        assertThat(b.cmdline()).isEqualTo("root=PARTUUID=5f6b8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b ro console=tty0"
                + " console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0");
        assertThat(b.origin()).isEqualTo("partition 2 (ext4) /boot/grub/grub.cfg, entry 'Debian GNU/Linux'");
    }

    @Test
    void aDebianCloudLayoutBootsGrubsDefaultEntryAndIsInspectedOnce() throws Exception {
        debianLike("debian");

        BootFiles first = resolve("debian");
        assertDebianBoot(first);

        // Kept beside the image: a second boot reads the kept files (no debugfs is run for it).
        WholeDiskBoots noTools = new WholeDiskBoots(cache, dir.resolve("no-debugfs").toString());
        try (ImageCache.Lease lease = cache.acquire("debian", "")) {
            assertThat(noTools.resolve("debian", lease)).isEqualTo(first);
        }
    }

    @Test
    void aQcow2ImageIsReadThroughItsFormat() throws Exception {
        Path raw = debianLike("debian.raw");
        Files.move(DiskBuilder.qcow2(raw), images.resolve("debian-qcow2"));

        assertDebianBoot(resolve("debian-qcow2"));
    }

    /**
     * A root volume: the same layout in a qcow2 file served by Debian's {@code qemu-nbd}, as the
     * volume service exports it, read over NBD and found again at every boot (written where asked).
     */
    @Test
    void aRootVolumeIsInspectedOverItsNbdExport() throws Exception {
        Path volume = DiskBuilder.qcow2(debianLike("volume.raw"));
        Path sockets = Files.createTempDirectory(Path.of("/tmp"), "nbdboot");
        Path socket = sockets.resolve("nbd.sock");
        Process server = new ProcessBuilder(DiskBuilder.tool("qemu-nbd", "qemu-utils"), "--persistent", "--shared=2",
                "-f", "qcow2", "-x", "vol-1", "-k", socket.toString(), volume.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        try {
            NbdSockets.awaitListening(server, socket, dir.resolve("qemu-nbd.log"), Duration.ofSeconds(30));
            GuestSpec.Volume root = new GuestSpec.Volume("vol-1", "att-1",
                    NbdExport.parse("nbd+unix:///vol-1?socket=" + socket), false, true);
            Path out = dir.resolve("instance/volume-boot");
            assertDebianBoot(boots.resolveVolume(root, out));
            assertThat(out.resolve(BootFiles.KERNEL)).exists();
            // Again over what is there: the directory is emptied first.
            assertDebianBoot(boots.resolveVolume(root, out));
        } finally {
            server.destroyForcibly().waitFor();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(sockets);
        }
    }

    @Test
    void aRootVolumeWhoseExportIsGoneIsUnreachable() {
        GuestSpec.Volume root = new GuestSpec.Volume("vol-2", "att-2",
                NbdExport.parse("nbd+unix:///vol-2?socket=" + dir.resolve("no-such.sock")), false, true);
        assertThatThrownBy(() -> boots.resolveVolume(root, dir.resolve("out")))
                .isInstanceOfSatisfying(HypervisorException.class,
                        e -> assertThat(e.code()).isEqualTo("VolumeUnreachable"))
                .hasMessageContaining("vol-2");
    }

    @Test
    void aQcow2ImageNamingABackingFileIsRefusedUnopened() throws Exception {
        Path base = images.resolve("base");
        Files.write(base, new byte[(int) MIB]);
        DiskBuilder.run(null, DiskBuilder.tool("qemu-img", "qemu-utils"), "create", "-f", "qcow2", "-F", "raw", "-b",
                "/etc/hostname", images.resolve("backed").toString(), "1M");

        assertThat(refused("backed")).hasMessageContaining("names a backing file");
    }

    @Test
    void aCorruptQcow2ImageIsRefusedWithoutNamingHostPaths() throws Exception {
        Path raw = debianLike("damaged.raw");
        Path qcow2 = Files.move(DiskBuilder.qcow2(raw), images.resolve("damaged"));
        // The L1 table's offset (header bytes 40..47, big-endian) far past the file's end.
        DiskBuilder.patch(qcow2, 40, new byte[] {0, 0, 0x10, 0, 0, 0, 0, 0});

        ImageException e = refused("damaged");
        assertThat(e).hasMessageStartingWith("image damaged is not bootable: the qcow2 image");
        assertThat(e.getMessage()).doesNotContain(dir.toString());
    }

    @Test
    void anMbrDiskWithoutGrubCfgBootsItsVmlinuzLinksWithItsRootUuid() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("mbr"), 24, "label: dos\nstart=2048, size=32768, type=83\n");
        DiskBuilder.ext4(disk, MIB, 32768 * 512L, root("mbr-root", null), UUID);

        BootFiles b = resolve("mbr");

        assertThat(Files.readAllBytes(b.kernel())).isEqualTo(KERNEL);
        assertThat(Files.readAllBytes(b.initrd().orElseThrow())).isEqualTo(INITRD);
        assertThat(b.cmdline()).isEqualTo("root=UUID=" + UUID + " ro console=ttyS0");
    }

    @Test
    void aFilesystemWithoutPartitionTableBootsBootVmlinuzWithoutInitrd() throws Exception {
        Path root = Files.createDirectories(dir.resolve("bare-root/boot"));
        Files.write(root.resolve("vmlinuz"), KERNEL);
        Path disk = images.resolve("bare");
        Files.write(disk, new byte[0]);
        DiskBuilder.ext4(disk, 0, 8 * MIB, root.getParent(), UUID);

        BootFiles b = resolve("bare");

        assertThat(Files.readAllBytes(b.kernel())).isEqualTo(KERNEL);
        assertThat(b.initrd()).isEmpty();
        assertThat(b.cmdline()).isEqualTo("root=UUID=" + UUID + " ro console=ttyS0");
    }

    @Test
    void aSeparateBootPartitionsGrubCfgNamesItsOwnFiles() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("split"), 24, "label: gpt\nstart=2048, size=8192, type="
                + LINUX + "\nstart=10240, size=16384, type=" + LINUX + "\n");
        Path boot = Files.createDirectories(dir.resolve("split-boot/grub"));
        Files.write(boot.resolveSibling("vmlinuz-6.1"), KERNEL);
        Files.write(boot.resolveSibling("initrd.img-6.1"), INITRD);
        Files.write(boot.resolveSibling("ucode.img"), "microcode;".getBytes(StandardCharsets.US_ASCII));
        Files.writeString(boot.resolve("grub.cfg"), "menuentry 'Linux' {\n\tlinux ($root)/vmlinuz-6.1 root=UUID=" + UUID
                + " ro \"quoted arg\"\n\tinitrd /ucode.img /initrd.img-6.1\n}\n");
        DiskBuilder.ext4(disk, MIB, 8192 * 512L, boot.getParent());
        DiskBuilder.ext4(disk, 10240 * 512L, 16384 * 512L, Files.createDirectories(dir.resolve("split-root/etc")));

        BootFiles b = resolve("split");

        assertThat(Files.readAllBytes(b.kernel())).isEqualTo(KERNEL);
        assertThat(Files.readString(b.initrd().orElseThrow(), StandardCharsets.US_ASCII))
                .as("the initrds concatenated, as GRUB loads them").isEqualTo("microcode;070701 an initramfs");
        assertThat(b.cmdline()).isEqualTo("root=UUID=" + UUID + " ro \"quoted arg\"");
        assertThat(b.origin()).startsWith("partition 1 (ext4) /grub/grub.cfg");
    }

    @Test
    void twoBootsInspectingOneImageAtOnceGetTheSameFiles() throws Exception {
        debianLike("race");
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            List<Future<BootFiles>> both = List.of(two.submit(() -> resolve("race")),
                    two.submit(() -> resolve("race")));
            BootFiles a = both.get(0).get();
            assertThat(both.get(1).get()).isEqualTo(a);
            assertDebianBoot(a);
        } finally {
            two.shutdownNow();
        }
    }

    @Test
    void aDiskOfZerosHasNoTableAndNoFilesystem() throws Exception {
        Files.write(images.resolve("zeros"), new byte[(int) MIB]);

        assertThat(refused("zeros")).hasMessage("image zeros is not bootable: no partition table and no filesystem"
                + " (an ext2/3/4 filesystem or a disk with a GPT or MBR partition table is needed)");
    }

    @Test
    void aCorruptGptIsRefused() throws Exception {
        Path disk = debianLike("corrupt");
        DiskBuilder.patch(disk, 512 + 40, new byte[] {0x7f});

        assertThat(refused("corrupt")).hasMessage("image corrupt is not bootable: GPT header CRC mismatch: the"
                + " partition table is corrupt");
    }

    @Test
    void aPartitionOfGarbageOrFatIsAnUnknownFilesystem() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("garbage"), 24, "label: gpt\nstart=2048, size=8192, type="
                + LINUX + "\nstart=10240, size=8192, type=" + LINUX + "\n");
        byte[] noise = new byte[(int) (4 * MIB)];
        new Random(7).nextBytes(noise);
        DiskBuilder.patch(disk, MIB, noise);
        DiskBuilder.run(null, DiskBuilder.tool("mkfs.fat", "dosfstools"), "--offset=10240", disk.toString(), "4096");

        assertThat(refused("garbage")).hasMessage("image garbage is not bootable: no grub.cfg and no /boot/vmlinuz or"
                + " /vmlinuz on the disk: partition 1: unknown filesystem (Linux filesystem); partition 2: unknown"
                + " filesystem (Linux filesystem)");
    }

    @Test
    void anExtFilesystemWithoutAnyBootSaysSo() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("empty"), 24, GPT);
        DiskBuilder.ext4(disk, 4096 * 512L, 32768 * 512L, Files.createDirectories(dir.resolve("empty-root/etc")));

        assertThat(refused("empty")).hasMessage("image empty is not bootable: no grub.cfg and no /boot/vmlinuz or"
                + " /vmlinuz on the disk: partition 1: the BIOS boot partition: GRUB's core image, no filesystem;"
                + " partition 2 (ext4): no grub.cfg and no /boot/vmlinuz or /vmlinuz; partition 3: the EFI system"
                + " partition: firmware's, not the OS's");
    }

    @Test
    void aDefaultEntryNamingAMissingKernelIsRefused() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("missing"), 24, GPT);
        Path root = root("missing-root", "menuentry 'Debian' {\n  linux /boot/vmlinuz-x root=/dev/vda2\n}\n");
        DiskBuilder.ext4(disk, 4096 * 512L, 32768 * 512L, root);

        assertThat(refused("missing")).hasMessage("image missing is not bootable: partition 2 (ext4): grub.cfg default"
                + " entry 'Debian' names /boot/vmlinuz-x which is not on the disk");
    }

    @Test
    void aKernelThatIsNoKernelOrTooLargeIsRefused() throws Exception {
        Path notKernel = DiskBuilder.partitioned(images.resolve("text"), 24, GPT);
        Path root = root("text-root", "menuentry 'Debian' {\n  linux /boot/readme\n}\n");
        Files.writeString(root.resolve("boot/readme"), "not a kernel");
        DiskBuilder.ext4(notKernel, 4096 * 512L, 32768 * 512L, root);
        assertThat(refused("text")).hasMessageEndingWith("partition 2 (ext4): the kernel /boot/readme is neither a"
                + " bzImage (\"HdrS\" at 0x202) nor an ELF file");

        Path huge = DiskBuilder.partitioned(images.resolve("huge"), 24, GPT);
        Path hugeRoot = root("huge-root", "menuentry 'Debian' {\n  linux /boot/big\n}\n");
        try (var ch = java.nio.channels.FileChannel.open(hugeRoot.resolve("boot/big"),
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            // Sparse: the filesystem holds 65 MiB of file in a few blocks.
            ch.write(java.nio.ByteBuffer.wrap(KERNEL), 0);
            ch.write(java.nio.ByteBuffer.allocate(1), 65 * MIB - 1);
        }
        DiskBuilder.ext4(huge, 4096 * 512L, 32768 * 512L, hugeRoot);
        assertThat(refused("huge")).hasMessageEndingWith("partition 2 (ext4): /boot/big is 68157440 bytes, more than"
                + " the 67108864 allowed");
    }

    @Test
    void aMalformedGrubCfgIsRefusedWithWhereItIs() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("badcfg"), 24, GPT);
        DiskBuilder.ext4(disk, 4096 * 512L, 32768 * 512L, root("badcfg-root", "menuentry 'Debian {\n"));

        assertThat(refused("badcfg")).hasMessage("image badcfg is not bootable: partition 2 (ext4)"
                + " /boot/grub/grub.cfg: grub.cfg line 1: a single quote is not closed");
    }
}
