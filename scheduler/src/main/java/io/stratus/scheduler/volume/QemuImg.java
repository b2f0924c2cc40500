package io.stratus.scheduler.volume;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code qemu-img}, the tool that knows every disk format QEMU does: what the pool runs
 * to make, copy, convert and resize volume files rather than writing qcow2 itself.
 */
final class QemuImg {
    /** A copy of a large volume takes long, but a hung tool must not hold a volume forever. */
    private static final long LIMIT_MINUTES = 60;

    private final String binary;

    QemuImg(String binary) {
        this.binary = binary;
    }

    /** An empty qcow2 file of {@code bytes} virtual size. */
    void create(Path file, long bytes) {
        run("create", "-q", "-f", "qcow2", file.toString(), Long.toString(bytes));
    }

    /** {@code from} (of {@code format}, or probed when null) written as a new qcow2 or raw file. */
    void convert(Path from, String format, Path to, String toFormat) {
        List<String> args = new ArrayList<>(List.of("convert", "-q"));
        if (format != null) {
            args.addAll(List.of("-f", format));
        }
        // -U: a volume in use is held open by its NBD export; a snapshot of it reads it shared.
        args.addAll(List.of("-U", "-O", toFormat, from.toString(), to.toString()));
        run(args.toArray(String[]::new));
    }

    /** Grows a qcow2 file to {@code bytes}. */
    void resize(Path file, long bytes) {
        run("resize", "-q", "-f", "qcow2", file.toString(), Long.toString(bytes));
    }

    /** The virtual size of {@code file} (of {@code format}, or probed when null). */
    long virtualSize(Path file, String format) {
        List<String> args = new ArrayList<>(List.of("info", "-U", "--output=json"));
        if (format != null) {
            args.addAll(List.of("-f", format));
        }
        args.add(file.toString());
        String json = run(args.toArray(String[]::new));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"virtual-size\"\\s*:\\s*(\\d+)").matcher(json);
        if (!m.find()) {
            throw VolumeException.failed("qemu-img info gave no virtual size for " + file, null);
        }
        return Long.parseLong(m.group(1));
    }

    private String run(String... args) {
        List<String> command = new ArrayList<>();
        command.add(binary);
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw VolumeException.failed("cannot run " + binary + " (Debian's qemu-utils): " + e.getMessage(), e);
        }
        try (InputStream out = p.getInputStream()) {
            p.getOutputStream().close();
            byte[] text = out.readAllBytes();
            if (!p.waitFor(LIMIT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw VolumeException.failed("qemu-img " + args[0] + " did not finish", null);
            }
            String said = new String(text, StandardCharsets.UTF_8).strip();
            if (p.exitValue() != 0) {
                throw VolumeException.failed("qemu-img " + args[0] + " failed: " + said, null);
            }
            return said;
        } catch (IOException e) {
            throw VolumeException.failed("qemu-img " + args[0] + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw VolumeException.failed("interrupted running qemu-img", e);
        }
    }
}
