package io.stratus.agent.boot;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Disk images made the way their users make them, with Debian's tools: partition tables by
 * util-linux's sfdisk (package fdisk), ext4 filesystems by e2fsprogs' mkfs.ext4 (written into a
 * partition with {@code -E offset}, filled from a directory with {@code -d}), qcow2 by qemu-img.
 * A test whose tool is missing is skipped, saying which.
 */
public final class DiskBuilder {
    public static final long MIB = 1 << 20;
    private static final List<String> DIRS = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private DiskBuilder() {
    }

    /** The tool's path; the test is skipped (with the package to install) where it is missing. */
    public static String tool(String name, String debianPackage) {
        Optional<Path> found = DIRS.stream().map(d -> Path.of(d, name)).filter(Files::isExecutable).findFirst();
        assumeTrue(found.isPresent(), name + " is not installed (Debian package " + debianPackage + ")");
        return found.get().toString();
    }

    /** A sparse file of {@code mib} MiB with the partition table sfdisk makes of {@code script}. */
    public static Path partitioned(Path file, long mib, String script) throws IOException, InterruptedException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.allocate(1), mib * MIB - 1);
        }
        run(script, tool("sfdisk", "fdisk"), "--no-reread", "--no-tell-kernel", "-q", file.toString());
        return file;
    }

    /** An ext4 filesystem of {@code bytes} at {@code offset} of {@code disk}, holding the tree {@code content}. */
    public static void ext4(Path disk, long offset, long bytes, Path content) throws IOException, InterruptedException {
        ext4(disk, offset, bytes, content, "");
    }

    /** The same with the filesystem's UUID {@code uuid} (empty: a random one). */
    public static void ext4(Path disk, long offset, long bytes, Path content, String uuid)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(tool("mkfs.ext4", "e2fsprogs"), "-q", "-F", "-d", content.toString(),
                "-E", "offset=" + offset));
        if (!uuid.isEmpty()) {
            cmd.addAll(List.of("-U", uuid));
        }
        cmd.addAll(List.of(disk.toString(), (bytes / 1024) + "k"));
        run(null, cmd.toArray(String[]::new));
    }

    /** {@code raw} converted to a new qcow2 image beside it. */
    public static Path qcow2(Path raw) throws IOException, InterruptedException {
        Path out = raw.resolveSibling(raw.getFileName() + ".qcow2");
        run(null, tool("qemu-img", "qemu-utils"), "convert", "-f", "raw", "-O", "qcow2", raw.toString(),
                out.toString());
        return out;
    }

    /** Writes {@code bytes} at {@code offset} of {@code file}. */
    public static void patch(Path file, long offset, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes), offset);
        }
    }

    /** A file that looks like a bzImage to a loader's first check: "HdrS" at 0x202, then {@code marker}. */
    public static byte[] fakeBzImage(String marker) {
        byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
        byte[] k = new byte[0x400 + m.length];
        k[0x1fe] = 0x55;
        k[0x1ff] = (byte) 0xaa;
        System.arraycopy("HdrS".getBytes(StandardCharsets.US_ASCII), 0, k, 0x202, 4);
        System.arraycopy(m, 0, k, 0x400, m.length);
        return k;
    }

    static void run(String stdin, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed: " + output);
        }
    }
}
