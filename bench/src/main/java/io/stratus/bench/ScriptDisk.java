package io.stratus.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;

/**
 * An ext4 image for a benchmark guest: a shell script the kit's initramfs runs
 * ({@code stratus.run=/mnt/run.sh}) and data files of random bytes, made with
 * {@code mkfs.ext4 -d} so that neither root nor a loop device is needed.
 */
final class ScriptDisk {
    static final String SCRIPT = "/mnt/run.sh";

    private final Path tree;

    private ScriptDisk(Path tree) {
        this.tree = tree;
    }

    static ScriptDisk in(Path work) throws IOException {
        return new ScriptDisk(Files.createDirectories(work.resolve("disk-tree")));
    }

    ScriptDisk script(String... lines) throws IOException {
        Path script = tree.resolve("run.sh");
        Files.writeString(script, "#!/bin/sh\n" + String.join("\n", lines) + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return this;
    }

    /** A file of {@code mib} MiB of random bytes (incompressible, unmergeable). */
    ScriptDisk randomFile(String name, int mib, long seed) throws IOException {
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(seed);
        try (OutputStream out = Files.newOutputStream(tree.resolve(name))) {
            for (int i = 0; i < mib; i++) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
        return this;
    }

    /** Writes the image, sized for the files plus room for ext4's own blocks. */
    Path build(Path image) throws IOException, InterruptedException {
        long bytes;
        try (var files = Files.list(tree)) {
            bytes = files.mapToLong(f -> f.toFile().length()).sum();
        }
        long mib = bytes / (1 << 20) * 5 / 4 + 16;
        Process mkfs = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", tree.toString(), image.toString(), mib + "M")
                .redirectErrorStream(true).start();
        String out = new String(mkfs.getInputStream().readAllBytes());
        if (mkfs.waitFor() != 0) {
            throw new IOException("mkfs.ext4 failed for " + image + ": " + out);
        }
        return image;
    }
}
