package io.stratus.scheduler.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No default admin password: the configured one, or a random one only its owner can read. */
class AdminPasswordTest {
    @TempDir
    Path dir;

    @Test
    void theConfiguredPasswordIsUsedAndNothingWritten() throws Exception {
        assertThat(AdminPassword.configuredOrWritten(Optional.of("s3cret"), dir.resolve("data"))).isEqualTo("s3cret");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void withoutOneARandomPasswordIsWrittenForTheOwnerOnly() throws Exception {
        Path data = dir.resolve("data");
        String first = AdminPassword.configuredOrWritten(Optional.empty(), data);
        String second = AdminPassword.configuredOrWritten(Optional.of(" "), dir.resolve("other"));
        assertThat(first).hasSizeGreaterThanOrEqualTo(24).isNotEqualTo(second).isNotEqualTo("stratus");
        Path file = data.resolve(AdminPassword.FILE);
        assertThat(Files.readString(file).strip()).isEqualTo(first);
        if (data.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwx------");
        } else {
            System.out.println("modes not checked: the temporary directory's file system has no POSIX modes");
        }
    }
}
