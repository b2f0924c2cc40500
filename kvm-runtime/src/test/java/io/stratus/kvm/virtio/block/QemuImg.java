package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** qemu-img and qemu-io, the reference implementation the qcow2 tests check against. */
final class QemuImg {
    static final Path QEMU_IMG = Path.of("/usr/bin/qemu-img");
    static final Path QEMU_IO = Path.of("/usr/bin/qemu-io");

    record Result(int exitCode, String output) {
    }

    private QemuImg() {
    }

    static void assumeInstalled() {
        assumeTrue(Files.isExecutable(QEMU_IMG), "qemu-img is not installed at " + QEMU_IMG
                + " (apt-get install qemu-utils); the qcow2 tests compare against it");
    }

    static boolean hasQemuIo() {
        return Files.isExecutable(QEMU_IO);
    }

    static Result run(Object... command) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>();
        for (Object c : command) {
            args.add(c.toString());
        }
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + args);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** Runs a command that must succeed and returns its output. */
    static String ok(Object... command) throws IOException, InterruptedException {
        Result r = run(command);
        assertThat(r.exitCode()).as("%s\n%s", List.of(command), r.output()).isZero();
        return r.output();
    }

    /** {@code qemu-img check}: no errors, no leaks. */
    static void assertClean(Path image, String... options) throws IOException, InterruptedException {
        List<Object> command = new ArrayList<>(List.of(QEMU_IMG, "check", "-f", "qcow2"));
        command.addAll(List.of(options));
        command.add(image);
        Result r = run(command.toArray());
        assertThat(r.exitCode()).as("qemu-img check %s:\n%s", image, r.output()).isZero();
        assertThat(r.output()).contains("No errors were found").doesNotContain("leaked");
    }

    /** The guest's view of {@code image} as qemu reads it. */
    static byte[] contents(Path image, Path scratch) throws IOException, InterruptedException {
        Path raw = scratch.resolve("convert-" + System.nanoTime() + ".raw");
        ok(QEMU_IMG, "convert", "-U", "-f", "qcow2", "-O", "raw", image, raw);
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }
}
