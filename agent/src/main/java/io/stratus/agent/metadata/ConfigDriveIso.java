package io.stratus.agent.metadata;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Writes a config drive as Nova does ({@code nova/virt/configdrive.py}): the files into a scratch
 * tree, then Debian's genisoimage with Nova's flags makes the ISO 9660 volume {@value #VOLUME_ID}
 * (Rock Ridge and Joliet names), which cloud-init finds by its label. The ISO appears whole or not
 * at all: written beside its place and renamed, the tree removed either way.
 */
public final class ConfigDriveIso {
    public static final String VOLUME_ID = "config-2";
    private static final String PUBLISHER = "Stratus";
    private static final int MAX_OUTPUT = 8192;

    private final String genisoimage;
    private final Duration timeout;

    /** @param genisoimage the program, a path or a name on PATH */
    public ConfigDriveIso(String genisoimage, Duration timeout) {
        this.genisoimage = genisoimage;
        this.timeout = timeout;
    }

    /**
     * Makes {@code target} (readable by its owner only: it holds the tenant's user data) from
     * {@code files}; a scratch tree and a partial ISO live beside it meanwhile.
     *
     * @throws IOException the files cannot be written or genisoimage failed (its output in the message)
     */
    public void write(ConfigDriveFiles files, Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tree = Files.createTempDirectory(dir, "config-drive-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        try {
            for (ConfigDriveFiles.File f : files.files()) {
                Path p = tree.resolve(f.path()).normalize();
                if (!p.startsWith(tree) || p.equals(tree)) {
                    // ConfigDriveFiles let it through: never, but a file outside the tree would be worse.
                    throw new IOException("config drive path " + f.path() + " leaves the drive");
                }
                Files.createDirectories(p.getParent());
                Files.write(p, f.content(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
            Files.deleteIfExists(partial);
            run(List.of(genisoimage, "-o", partial.toString(), "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
                    "-publisher", PUBLISHER, "-quiet", "-J", "-r", "-V", VOLUME_ID, tree.toString()));
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-------"));
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
            deleteTree(tree);
        }
    }

    private void run(List<String> command) throws IOException {
        Path output = Files.createTempFile("genisoimage", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            p.getOutputStream().close();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new IOException("interrupted running " + genisoimage, e);
            }
            if (!done) {
                p.destroyForcibly();
                throw new IOException(genisoimage + " did not finish in " + timeout.toSeconds() + " s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(genisoimage + " failed (" + p.exitValue() + "): " + head(output));
            }
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String head(Path output) throws IOException {
        byte[] bytes = Files.readAllBytes(output);
        String text = new String(bytes, 0, Math.min(bytes.length, MAX_OUTPUT), StandardCharsets.UTF_8).trim();
        return bytes.length > MAX_OUTPUT ? text + " ..." : text;
    }

    /** Removes scratch trees a crash left beside {@code target}. */
    static void removeLeftovers(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<Path> left = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().startsWith("config-drive-")).forEach(left::add);
        }
        for (Path p : left) {
            deleteTree(p);
        }
        Files.deleteIfExists(target.resolveSibling(target.getFileName() + ".partial"));
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(root)) {
            all = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
    }
}
