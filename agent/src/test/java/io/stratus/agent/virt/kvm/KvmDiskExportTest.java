package io.stratus.agent.virt.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.agent.virt.GuestSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kvm driver's disk export through kvm-runtime's formats, for a disk no VM holds. */
class KvmDiskExportTest {
    @TempDir
    Path dir;

    @Test
    void exportsTheLayerAndItsBaseFlattenedToASparseRawImage() throws Exception {
        Path disk = dir.resolve("disk.qcow2");
        byte[] expected = io.stratus.agent.virt.DiskExportTest.layeredDisk(dir, disk);
        Path target = dir.resolve("image.raw");

        DiskExport.export(Optional.empty(), new GuestSpec.Disk(disk, GuestSpec.Format.QCOW2, false), target);

        byte[] out = Files.readAllBytes(target);
        assertThat(out.length).isEqualTo(expected.length);
        assertThat(Arrays.equals(out, expected)).isTrue();
        Process stat = new ProcessBuilder("stat", "--format=%b", target.toString()).start();
        long allocated = Long.parseLong(new String(stat.getInputStream().readAllBytes()).strip()) * 512;
        assertThat(allocated).as("the zeros past the base are holes").isLessThan(expected.length);
    }
}
