package io.stratus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code stratus vm run} boots the kit's test kernel through ACPI to its userspace marker. */
@Tag("linux")
class LinuxVmRunTest {
    private static final Pattern MARKER = Pattern.compile("STRATUS-GUEST-READY cpus=(\\d+) memkb=(\\d+)");

    private static Path kit() {
        String configured = System.getProperty("stratus.kit");
        Path dir = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        assertThat(Files.isRegularFile(dir.resolve("test-kernel/vmlinux")))
                .as("guest kit in %s: run `bin/stratus kit`", dir).isTrue();
        return dir;
    }

    @ParameterizedTest(name = "{0} vCPU(s)")
    @ValueSource(ints = {1, 2})
    void bootsTheTestKernelToUserspaceAndPowersOff(int cpus) throws Exception {
        Path kit = kit();
        VmRunProcess r = VmRunProcess.run(Duration.ofMinutes(6), "vm", "run",
                "--kernel", kit.resolve("test-kernel/vmlinux").toString(),
                "--initrd", kit.resolve("initramfs.cpio").toString(),
                "--memory", "256M", "--cpus", Integer.toString(cpus), "--cmdline", "panic=-1");
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        Matcher m = MARKER.matcher(r.stdout());
        assertThat(m.find()).as(r.stdout()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isEqualTo(cpus);
        long memKb = Long.parseLong(m.group(2));
        // MemTotal is what the kernel keeps after its own image and reservations: within 10 % of 256 MiB.
        assertThat(memKb).isBetween(256L * 1024 * 9 / 10, 256L * 1024);
        assertThat(r.stdout()).contains("ACPI: PM: Preparing to enter system sleep state S5", "reboot: Power down");
        assertThat(r.stdout()).containsPattern("ttyS0 at I/O 0x3f8");
    }
}
