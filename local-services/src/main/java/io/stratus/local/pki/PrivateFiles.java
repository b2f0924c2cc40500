package io.stratus.local.pki;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Keys and certificates as 0600 files in 0700 directories, created with their mode so that no
 * other user can open them in between. The database module's {@code PrivateFiles} does the same
 * for the stores; it is not reused here because depending on that module brings its JDBC drivers
 * and their versions (Quarkus' BOM) into every launcher and test that uses this module.
 */
final class PrivateFiles {
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private PrivateFiles() {
    }

    static Path directory(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
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

    /** Replaces {@code file} with {@code data}: written to a 0600 file beside it, then moved over it. */
    static void write(Path file, byte[] data) throws IOException {
        Path scratch = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(FILE));
        try {
            Files.write(scratch, data);
            Files.move(scratch, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(scratch);
        }
    }
}
