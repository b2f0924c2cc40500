package io.stratus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.testing.RequiresKvm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vm run --control} and {@code vm control}, then {@code vm run --restore}: a counting test
 * guest is paused, snapshotted, refused bad requests, stopped, and continued in a new process.
 */
@Timeout(120)
class VmControlTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private record Answer(int code, String out, String err) {
    }

    private static Answer control(Path socket, String... command) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] args = new String[command.length + 3];
        args[0] = "vm";
        args[1] = "control";
        args[2] = socket.toString();
        System.arraycopy(command, 0, args, 3, command.length);
        int code = StratusCli.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Answer(code, out.toString(), err.toString());
    }

    private static String readAll(BufferedReader in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        char[] buf = new char[4096];
        int n;
        while ((n = in.read(buf)) > 0) {
            sb.append(buf, 0, n);
        }
        return sb.toString();
    }

    private static String guest(String name) {
        return Path.of(System.getProperty("stratus.testGuests"), name).toString();
    }

    @Test
    @RequiresKvm
    void pausesSnapshotsAndStopsAGuestThatThenContinuesInANewProcess(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("control.sock");
        Path snapshot = dir.resolve("snap");
        Process run = VmRunProcess.start("vm", "run", "--kernel", guest("counter.elf"), "--memory", "64M",
                "--control", socket.toString());
        String firstRun;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8))) {
            String first = out.readLine();
            assertThat(first).isEqualTo("COUNT 0");
            assertThat(Files.exists(socket)).isTrue();
            assertThat(control(socket, "status").out()).contains("state=RUNNING", "memory_mib=64", "balloon_target_mib=0");
            try (java.nio.channels.SocketChannel silent = java.nio.channels.SocketChannel.open(
                    java.net.UnixDomainSocketAddress.of(socket))) {
                assertThat(silent.isConnected()).isTrue();
                assertThat(control(socket, "status").out()).as("a client that sends nothing blocks no one")
                        .contains("state=RUNNING");
            }

            Answer pause = control(socket, "pause");
            assertThat(pause.code()).as(pause.err()).isZero();
            assertThat(control(socket, "status").out()).contains("state=PAUSED");
            Answer snap = control(socket, "snapshot", snapshot.toString());
            assertThat(snap.code()).as(snap.err()).isZero();
            assertThat(snap.out()).contains("snapshot=" + snapshot);

            Answer tooBig = control(socket, "balloon", "1G");
            assertThat(tooBig.code()).isEqualTo(2);
            assertThat(tooBig.err()).startsWith("stratus: error: ").contains("outside 0 to the guest's 64 MiB");
            Answer unknown = control(socket, "reboot", "now");
            assertThat(unknown.code()).isEqualTo(2);
            assertThat(unknown.err()).contains("unknown command 'reboot'", "status | pause");
            assertThat(control(socket, "pause").err()).contains("is PAUSED, not RUNNING");
            Answer tooLong = control(socket, "x".repeat(5000));
            assertThat(tooLong.code()).isEqualTo(2);
            assertThat(tooLong.err()).contains("request longer than 4096 characters");
            assertThat(control(socket, "status").out()).as("the socket still serves").contains("state=PAUSED");
            assertThat(control(socket, "balloon", "16M").code()).isZero();
            assertThat(control(socket, "status").out()).contains("balloon_target_mib=16");
            assertThat(control(socket, "balloon").out()).contains("balloon_target_mib=16", "balloon_actual_mib=")
                    .doesNotContain("host_resident_mib");
            assertThat(control(socket, "balloon", "0M").code()).isZero();
            assertThat(control(socket, "status").out()).contains("balloon_target_mib=0");

            assertThat(control(socket, "stop").code()).isZero();
            assertThat(run.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(run.exitValue()).isZero();
            assertThat(Files.exists(socket)).as("socket removed at exit").isFalse();
            // Paused from the snapshot on: what it printed up to the pause is all it printed.
            firstRun = first + "\n" + readAll(out);
        } finally {
            run.destroyForcibly();
        }
        assertThat(control(socket, "status").code()).isEqualTo(1);

        Process restored = VmRunProcess.start("vm", "run", "--restore", snapshot.toString());
        StringBuilder stream = new StringBuilder(firstRun);
        try (BufferedReader out = new BufferedReader(new InputStreamReader(restored.getInputStream(),
                StandardCharsets.UTF_8))) {
            // The first line may finish one the pause cut short; then whole lines follow.
            for (int i = 0; i < 4; i++) {
                stream.append(out.readLine()).append('\n');
            }
        } finally {
            restored.destroy();
            assertThat(restored.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        }
        // SIGTERM: the JVM's own status for it once the shutdown hook has stopped the guest.
        assertThat(restored.exitValue()).isEqualTo(128 + 15);
        // One console across both processes: counts go on from the snapshot, none repeated or lost.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("COUNT (\\d+)\n").matcher(stream);
        long expected = 0;
        while (m.find()) {
            assertThat(Long.parseLong(m.group(1))).as(stream.toString()).isEqualTo(expected++);
        }
        assertThat(expected).isGreaterThan(3);
    }

    @Test
    void restoreRefusesBootOptionsAndBadSnapshots(@TempDir Path dir) throws Exception {
        VmRunProcess both = VmRunProcess.run(LIMIT, "vm", "run", "--restore", dir.toString(), "--memory", "1G");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.stderr()).contains("--memory cannot be used with --restore");

        VmRunProcess neither = VmRunProcess.run(LIMIT, "vm", "run", "--memory", "1G");
        assertThat(neither.exitCode()).isEqualTo(2);
        assertThat(neither.stderr()).contains("either --kernel FILE", "or --restore DIR");

        Files.writeString(dir.resolve("state.bin"), "not a snapshot");
        VmRunProcess corrupt = VmRunProcess.run(LIMIT, "vm", "run", "--restore", dir.toString());
        assertThat(corrupt.exitCode()).as(corrupt.stderr()).isEqualTo(2);
        assertThat(corrupt.stderr()).startsWith("stratus: error: ").doesNotContain("\tat ");
    }

    @Test
    @RequiresKvm
    void aSecondGuestCannotTakeALiveControlSocket(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("control.sock");
        Files.createFile(socket);
        VmRunProcess r = VmRunProcess.run(LIMIT, "vm", "run", "--kernel", guest("hello.elf"), "--memory", "32M",
                "--control", socket.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr()).contains("control socket " + socket + " already exists");
    }
}
