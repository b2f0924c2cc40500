package io.stratus.agent.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.agent.virt.FakeDriver.FakeGuest;
import io.stratus.agent.virt.qemu.QemuDriver;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.Qcow2Image;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drivers' {@link HypervisorDriver#exportDisk}: an instance disk (a qcow2 layer over a raw
 * image, with the guest's writes in the layer) comes out as one raw image of what the guest sees.
 * The qemu driver's runs Debian's qemu-img (skipped where it is not installed); the kvm driver's
 * copy ({@code virt.kvm.DiskExport}) is tested beside it in {@code virt.kvm}.
 */
public class DiskExportTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;
    private Path disk;
    private byte[] expected;

    @BeforeEach
    void instanceDisk() throws Exception {
        disk = dir.resolve("disk.qcow2");
        expected = layeredDisk(dir, disk);
    }

    /** Writes a 1.5 MiB raw base and a 4 MiB layer over it with 64 KiB written at 2 MiB; returns what the guest sees. */
    public static byte[] layeredDisk(Path dir, Path disk) throws Exception {
        byte[] base = new byte[MIB + MIB / 2];
        for (int i = 0; i < base.length; i++) {
            base[i] = (byte) (i * 7 + 1);
        }
        Path raw = dir.resolve("base.raw");
        Files.write(raw, base);
        Qcow2Image.create(disk, raw, 4L * MIB);
        byte[] written = new byte[64 << 10];
        Arrays.fill(written, (byte) 0xab);
        try (DiskImage image = DiskImage.open(disk, false, DiskFormat.QCOW2); Memory m = new Memory(written.length)) {
            m.write(0, written, 0, written.length);
            image.write(new long[] {Pointer.nativeValue(m)}, new long[] {written.length}, 1, 2L * MIB);
            image.flush();
        }
        byte[] sees = new byte[4 * MIB];
        System.arraycopy(base, 0, sees, 0, base.length);
        System.arraycopy(written, 0, sees, 2 * MIB, written.length);
        return sees;
    }

    private QemuDriver qemu() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-img")), "qemu-img is not installed");
        QemuDriver.Result probe = QemuDriver.probe("qemu-system-x86_64", Path.of("/nonexistent/kvm"), "tcg",
                OptionalLong.empty());
        assumeTrue(probe.driver().isPresent(), probe.reason());
        return probe.driver().get();
    }

    @Test
    void qemuExportsTheLayerAndItsBaseFlattenedToRaw() throws Exception {
        Path target = dir.resolve("image.raw");

        qemu().exportDisk(Optional.empty(), new GuestSpec.Disk(disk, GuestSpec.Format.QCOW2, false), target);

        assertThat(Files.readAllBytes(target)).isEqualTo(expected);
    }

    @Test
    void qemuPausesARunningGuestForTheCopyAndLetsItRunAfter() throws Exception {
        QemuDriver qemu = qemu();
        FakeGuest guest = (FakeGuest) new FakeDriver().spawn(new GuestSpec("i-1", dir.resolve("i-1"),
                dir.resolve("kernel"), Optional.empty(), "", 1, 32, List.of(), List.of(), false, false), (b, o, l) -> { });

        qemu.exportDisk(Optional.of(guest), new GuestSpec.Disk(disk, GuestSpec.Format.QCOW2, false),
                dir.resolve("image.raw"));

        assertThat(guest.pauses()).isEqualTo(1);
        assertThat(guest.resumes()).isEqualTo(1);
        assertThat(guest.paused()).isFalse();
    }
}
