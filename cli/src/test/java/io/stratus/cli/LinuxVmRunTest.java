package io.stratus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.testing.RequiresKvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stratus vm run} boots the kit's test kernel through ACPI to its userspace marker, with
 * virtio-blk disks it finds through the DSDT. About a minute per boot where KVM emulates guest
 * kernel code.
 */
@Tag("linux")
@RequiresKvm
class LinuxVmRunTest {
    private static final Pattern MARKER = Pattern.compile("STRATUS-GUEST-READY cpus=(\\d+) memkb=(\\d+)");
    private static final Duration BOOT_LIMIT = Duration.ofMinutes(6);

    private static Path kit() {
        String configured = System.getProperty("stratus.kit");
        Path dir = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        assertThat(Files.isRegularFile(dir.resolve("test-kernel/vmlinux")))
                .as("guest kit in %s: run `bin/stratus kit`", dir).isTrue();
        return dir;
    }

    private static void assertMarker(String stdout, int cpus) {
        Matcher m = MARKER.matcher(stdout);
        assertThat(m.find()).as(stdout).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isEqualTo(cpus);
        // MemTotal is what the kernel keeps after its own image and reservations: within 10 % of 256 MiB.
        assertThat(Long.parseLong(m.group(2))).isBetween(256L * 1024 * 9 / 10, 256L * 1024);
    }

    @Test
    void bootsTheTestKernelWithOneVcpuAndPowersOffThroughAcpi() throws Exception {
        Path kit = kit();
        VmRunProcess r = VmRunProcess.run(BOOT_LIMIT, "vm", "run",
                "--kernel", kit.resolve("test-kernel/vmlinux").toString(),
                "--initrd", kit.resolve("initramfs.cpio").toString(),
                "--memory", "256M", "--cpus", "1", "--cmdline", "panic=-1");
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertMarker(r.stdout(), 1);
        assertThat(r.stdout()).contains("ACPI: PM: Preparing to enter system sleep state S5", "reboot: Power down")
                .containsPattern("ttyS0 at I/O 0x3f8");
    }

    @Test
    void bootsTwoVcpusWithAReadWriteAndAReadOnlyDisk(@TempDir Path dir) throws Exception {
        Path kit = kit();
        Path rwTree = Files.createDirectory(dir.resolve("rw"));
        Files.writeString(rwTree.resolve("input.txt"), "put there by the host\n");
        Path script = rwTree.resolve("run.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "cat /mnt/input.txt",
                "echo 'written by the guest' > /mnt/output.txt",
                "mkdir /ro && mount -o ro /dev/vdb /ro && cat /ro/ro.txt",
                "dd if=/dev/zero of=/dev/vdb bs=512 count=1 2>/dev/null || echo STRATUS-RO-REFUSED",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path roTree = Files.createDirectory(dir.resolve("ro"));
        Files.writeString(roTree.resolve("ro.txt"), "from the read-only disk\n");
        Path rw = mkfs(rwTree, dir.resolve("rw.img"));
        Path ro = mkfs(roTree, dir.resolve("ro.img"));
        String roBefore = sha256(ro);

        VmRunProcess r = VmRunProcess.run(BOOT_LIMIT, "vm", "run",
                "--kernel", kit.resolve("test-kernel/vmlinux").toString(),
                "--initrd", kit.resolve("initramfs.cpio").toString(),
                "--memory", "256M", "--cpus", "2", "--disk", rw.toString(), "--disk", ro + ",ro",
                "--cmdline", "panic=-1 stratus.run=/mnt/run.sh");
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertMarker(r.stdout(), 2);
        assertThat(r.stdout()).contains("virtio_blk virtio0: [vda]", "virtio_blk virtio1: [vdb]",
                "STRATUS-DISK-MOUNTED /dev/vda", "put there by the host", "from the read-only disk",
                "STRATUS-RO-REFUSED", "STRATUS-RUN-END");
        assertThat(run("debugfs", "-R", "cat /output.txt", rw.toString())).isEqualTo("written by the guest\n");
        Process fsck = new ProcessBuilder("e2fsck", "-fn", rw.toString()).redirectErrorStream(true).start();
        String fsckLog = VmRunProcess.drain(fsck.getInputStream());
        assertThat(fsck.waitFor()).as(fsckLog).isZero();
        assertThat(sha256(ro)).as("the read-only image is unchanged").isEqualTo(roBefore);
    }

    private static Path mkfs(Path tree, Path image) throws Exception {
        run("mkfs.ext4", "-q", "-F", "-L", "stratus-test", "-d", tree.toString(), image.toString(), "16M");
        return image;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = VmRunProcess.drain(p.getInputStream());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
        return out;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
