package io.stratus.agent.guest;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.FakeDriver;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the config drive goes in the spec both drivers take: after the root disk, raw and read-only. */
class GuestSupervisorConfigDriveTest {
    @TempDir
    Path dir;

    @Test
    void theConfigDriveIsTheDiskAfterTheRootDisk() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        Files.write(images.resolve("kernel"), new byte[] {0x7f, 'E', 'L', 'F'});
        Files.write(images.resolve("root"), new byte[4096]);
        ImageCache cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1 << 20, Set::of,
                Clock.systemUTC());
        List<String> asked = new ArrayList<>();
        // A stand-in for the metadata API's drives: it only says where the drive would be.
        ConfigDrives drives = (rec, instanceDir) -> {
            asked.add(rec.id());
            return rec.boot().getConfigDrive() ? Optional.of(ConfigDrives.disk(instanceDir)) : Optional.empty();
        };
        GuestSupervisor guests = new GuestSupervisor(new FakeDriver(), cache, new RecordingPlugs(), drives,
                dir.resolve("instances"), 4096);
        Boot boot = Boot.newBuilder().setName("vm").setConfigDrive(true)
                .setResources(Resources.newBuilder().setVcpus(1).setMemoryMib(64).setDiskGib(0))
                .setSource(BootSource.newBuilder().setKernelImageId("kernel").setImageId("root")).build();
        InstanceRecord rec = InstanceRecord.building("vm-1", "project-a", boot, "request-1");

        List<GuestSpec.Disk> disks = guests.withSpec(rec, false, GuestSpec::disks);

        Path instanceDir = dir.resolve("instances").resolve("vm-1");
        assertThat(disks).containsExactly(
                new GuestSpec.Disk(instanceDir.resolve("disk.qcow2"), GuestSpec.Format.QCOW2, false),
                new GuestSpec.Disk(instanceDir.resolve("config.iso"), GuestSpec.Format.RAW, true));
        assertThat(asked).containsExactly("vm-1");
        // The guest's disk and the cached image under it are the agent's user's alone.
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            for (Path d : List.of(dir.resolve("instances"), instanceDir, dir.resolve("cache"),
                    dir.resolve("cache/blobs"))) {
                assertThat(mode(d)).as(d.toString()).isEqualTo("rwx------");
            }
            assertThat(mode(instanceDir.resolve("disk.qcow2"))).isEqualTo("rw-------");
            try (java.util.stream.Stream<Path> blobs = Files.list(dir.resolve("cache/blobs"))) {
                for (Path b : blobs.toList()) {
                    assertThat(mode(b)).as(b.toString()).isEqualTo("rw-------");
                }
            }
        } else {
            System.out.println("modes not checked: the temporary directory's file system has no POSIX modes");
        }

        InstanceRecord without = InstanceRecord.building("vm-2", "project-a", boot.toBuilder().setConfigDrive(false)
                .build(), "request-2");
        assertThat(guests.withSpec(without, false, GuestSpec::disks)).hasSize(1);
    }

    private static String mode(Path p) throws java.io.IOException {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
