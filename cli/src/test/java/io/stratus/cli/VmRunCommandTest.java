package io.stratus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.testing.RequiresKvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code stratus vm run} as a user runs it: its own JVM, real guests, exit codes and stderr checked. */
@Timeout(120)
class VmRunCommandTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private static String guest(String name) {
        Path p = Path.of(System.getProperty("stratus.testGuests"), name);
        assertThat(Files.isRegularFile(p)).as("test guest %s", p).isTrue();
        return p.toString();
    }

    private static void assertOneLineError(VmRunProcess r, int code, String text) {
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(code);
        assertThat(r.stderr()).startsWith("stratus: error: ").contains(text).doesNotContain("\tat ", "Exception");
    }

    @Test
    @RequiresKvm
    void guestPowerOffExitsZeroWithTheConsoleOnStdout() throws Exception {
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("hello.elf"), "--memory", "32M");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("Hello from a Stratus test guest\n");
        assertThat(r.stderr()).isEmpty();
        VmRunProcess limited = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("hello.elf"), "--memory", "32M",
                "--rng", "--rng-rate", "4096");
        assertThat(limited.exitCode()).as(limited.stderr()).isZero();
    }

    @Test
    @RequiresKvm
    void passesCmdlineCpusAndMemoryToTheGuest() throws Exception {
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("bootinfo.elf"), "--cpus", "2",
                "--memory", "64M", "--cmdline", "a=1 b=2");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("cmdline=a=1 b=2 console=ttyS0", "logical=2", "ramkb=" + ((64 << 10) - 385));
    }

    @Test
    @RequiresKvm
    void diskLockedByARunningGuestIsRefused(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("disk.img");
        Files.write(image, new byte[1 << 20]);
        Process first = VmRunProcess.start("vm", "run", "--kernel", guest("spin.elf"), "--memory", "32M",
                "--disk", image.toString());
        try (BufferedReader out = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("STRATUS-SPIN");
            VmRunProcess second = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("hello.elf"), "--memory", "32M",
                    "--disk", image.toString());
            assertOneLineError(second, 2, "is in use by another guest");
        } finally {
            first.destroyForcibly();
            first.waitFor();
        }
    }

    @Test
    @RequiresKvm
    void tripleFaultExitsThree() throws Exception {
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("triple.elf"));
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stderr()).contains("triple fault");
    }

    @Test
    @RequiresKvm
    void emulationFailureIsOneLineWithRipAndExitsOne() throws Exception {
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("emulfail.elf"));
        assertOneLineError(r, 1, "could not emulate the guest instruction at RIP 0x");
        assertThat(r.stderr().lines().count()).isEqualTo(1);
    }

    @Test
    @RequiresKvm
    void debugAddsStackTracesAndVmmLogs() throws Exception {
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("emulfail.elf"), "--debug");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr()).contains("GuestEmulationException", "\tat ", "started with 1 vCPU");
    }

    /** The kernel and initrd are loaded into a VM that KVM has made: these errors need it. */
    @Test
    @RequiresKvm
    void badKernelsAndInitrdsAreOneClearLineAndExitCodeTwo(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "just text");
        Path truncated = dir.resolve("truncated.elf");
        byte[] hello = Files.readAllBytes(Path.of(guest("hello.elf")));
        Files.write(truncated, java.util.Arrays.copyOf(hello, 200));

        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", dir.resolve("missing").toString()),
                2, "does not exist");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", text.toString()),
                2, "neither an ELF vmlinux nor a bzImage");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", truncated.toString()),
                2, "outside the file");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("hello.elf"), "--initrd",
                dir.resolve("nope").toString()), 2, "initrd file");
    }

    @Test
    void badInputIsOneClearLineAndExitCodeTwo(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "just text");
        String hello32 = guest("hello.elf");

        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--memory", "1M"),
                2, "at least 16 MiB");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--memory", "900T"),
                2, "more than this host can give");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--cpus", "0"),
                2, "1 to 254 vCPUs");
        VmRunProcess unknown = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--turbo");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.stderr()).startsWith("stratus: error: Unknown option: '--turbo'");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--disk",
                dir.resolve("absent.img").toString()), 2, "does not exist");
        VmRunProcess badOption = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--disk", text + ",rx");
        assertThat(badOption.exitCode()).isEqualTo(2);
        assertThat(badOption.stderr()).contains("unknown disk option 'rx'");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--rng", "--rng-rate", "0"),
                2, "give at least 1 byte per second");
        assertOneLineError(VmRunProcess.run(LIMIT, "vm", "run", "--kernel", hello32, "--rng-rate", "4096"),
                2, "--rng-rate limits the --rng device");
        VmRunProcess noKernel = VmRunProcess.run(LIMIT, "vm", "run");
        assertThat(noKernel.exitCode()).isEqualTo(2);
        assertThat(noKernel.stderr()).contains("give either --kernel FILE (boot a guest) or --restore DIR");
    }

    @Test
    @RequiresKvm
    void ctrlCStopsTheGuestAndExits130() throws Exception {
        Process p = VmRunProcess.start("vm", "run", "--kernel", guest("spin.elf"), "--cpus", "2", "--memory", "32M");
        String stderr;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("STRATUS-SPIN");
            assertThat(p.isAlive()).isTrue();
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
            assertThat(kill.waitFor()).isZero();
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("exits after SIGINT").isTrue();
            stderr = VmRunProcess.drain(p.getErrorStream());
        } finally {
            p.destroyForcibly();
        }
        assertThat(p.exitValue()).isEqualTo(130);
        assertThat(stderr).contains("guest stopped");
    }

    @Test
    @RequiresKvm
    void stdinReachesTheGuestUart() throws Exception {
        Process p = new ProcessBuilder(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), StratusCli.class.getName(),
                "vm", "run", "--kernel", guest("echo.elf"), "--memory", "32M")).start();
        try (var in = p.getOutputStream()) {
            in.write("typed on the host\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(VmRunProcess.drain(p.getInputStream())).contains("STRATUS-ECHO-READY", "ECHO: typed on the host");
    }
}
