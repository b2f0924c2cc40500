package io.stratus.agent.guest;

import static io.stratus.agent.boot.DiskBuilder.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.boot.DiskBuilder;
import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageException;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.FakeDriver;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest a whole-disk image (a disk and no kernel) makes: its kernel, initrd and command line
 * are what the disk's grub.cfg boots, with the platform's name for cloud-init added, and its disk
 * is the instance's layer over the image as for any disk; one that cannot be booted is refused
 * before anything of the instance is made.
 */
class WholeDiskSpecTest {
    private static final byte[] KERNEL = DiskBuilder.fakeBzImage("kernel");

    @TempDir
    Path dir;
    private final FakeDriver driver = new FakeDriver();
    private Path images;
    private GuestSupervisor guests;

    @BeforeEach
    void supervisor() throws Exception {
        DiskBuilder.tool("debugfs", "e2fsprogs");
        images = Files.createDirectories(dir.resolve("images"));
        ImageCache cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1L << 30, Set::of,
                Clock.systemUTC());
        guests = new GuestSupervisor(driver, cache, new RecordingPlugs(), dir.resolve("instances"), 4096);
    }

    private static InstanceRecord record(String id, String image) {
        Boot boot = Boot.newBuilder().setName(id).setFlavor("m1").setResources(Resources.newBuilder().setVcpus(1)
                .setMemoryMib(64).setDiskGib(1)).setSource(BootSource.newBuilder().setImageId(image)).build();
        return InstanceRecord.building(id, "t1", boot, "req-" + id);
    }

    @Test
    void aWholeDiskImageBootsWhatItsGrubCfgNamesWithItsDiskLayeredOverTheImage() throws Exception {
        Path disk = DiskBuilder.partitioned(images.resolve("disk"), 24, "label: gpt\nstart=2048, size=16384\n");
        Path root = Files.createDirectories(dir.resolve("root/boot/grub"));
        Files.write(root.resolveSibling("vmlinuz-1"), KERNEL);
        Files.writeString(root.resolve("grub.cfg"), "menuentry 'One' {\n linux /boot/vmlinuz-1 root=/dev/vda1 ro"
                + " console=ttyS0\n}\n");
        DiskBuilder.ext4(disk, MIB, 8 * MIB, root.getParent().getParent());

        guests.launch(record("i-1", "disk"));

        GuestSpec spec = driver.lastGuest("i-1").spec().orElseThrow();
        assertThat(Files.readAllBytes(spec.kernel())).isEqualTo(KERNEL);
        assertThat(spec.initrd()).isEmpty();
        assertThat(spec.cmdline()).isEqualTo("root=/dev/vda1 ro console=ttyS0 \"product_name=OpenStack Nova\"");
        assertThat(spec.disks()).extracting(GuestSpec.Disk::path).containsExactly(guests.instanceDir("i-1")
                .resolve("disk.qcow2"));
        assertThat(spec.disks().get(0).format()).isEqualTo(GuestSpec.Format.QCOW2);
        guests.stop("i-1");
    }

    @Test
    void anUnbootableDiskIsRefusedBeforeTheInstanceHasADirectory() throws Exception {
        Files.write(images.resolve("zeros"), new byte[(int) MIB]);

        assertThatThrownBy(() -> guests.launch(record("i-2", "zeros")))
                .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code()).isEqualTo("ImageNotBootable"))
                .hasMessageContaining("no partition table and no filesystem");
        assertThat(guests.instanceDir("i-2")).doesNotExist();
        assertThat(driver.guests()).isEmpty();
    }

    @Test
    void aSourceWithNeitherKernelNorDiskIsRefused() {
        assertThatThrownBy(() -> guests.launch(record("i-3", "")))
                .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code()).isEqualTo("ImageNotBootable"))
                .hasMessageContaining("names neither a kernel, a disk image nor a root volume");
    }
}
