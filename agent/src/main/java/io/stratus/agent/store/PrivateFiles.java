package io.stratus.agent.store;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Files holding tenants' data (disks, memory snapshots, cached images): 0600 in 0700
 * directories, whatever the agent's umask (Java cannot set it). The control plane's services have
 * the same rule in {@code io.stratus.database.PrivateFiles}; the agent does not depend on that
 * module. On a file system without POSIX modes nothing is changed.
 */
public final class PrivateFiles {
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private PrivateFiles() {
    }

    /** Creates {@code dir} (and missing parents) and makes {@code dir} itself 0700. */
    public static Path directory(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!posix(parent)) {
            return Files.createDirectories(dir);
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIRECTORY));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
        Files.setPosixFilePermissions(dir, DIRECTORY);
        return dir;
    }

    /** Creates {@code file}, which must not exist, as 0600. */
    public static Path createFile(Path file) throws IOException {
        return posix(file.toAbsolutePath().getParent())
                ? Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE)) : Files.createFile(file);
    }

    /** Makes a file another tool created (qemu-img, a VMM's snapshot) 0600, and a directory 0700. */
    public static void restrict(Path p) throws IOException {
        if (posix(p)) {
            Files.setPosixFilePermissions(p, Files.isDirectory(p) ? DIRECTORY : FILE);
        }
    }

    /** {@link #restrict} on {@code dir} and everything under it. */
    public static void restrictTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (!Files.isSymbolicLink(p)) {
                    restrict(p);
                }
            }
        }
    }

    private static boolean posix(Path p) {
        return p != null && Files.exists(p) && p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
