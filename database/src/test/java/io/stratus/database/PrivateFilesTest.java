package io.stratus.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tenant data and secrets on disk: 0600 files in 0700 directories, whatever the umask. */
class PrivateFilesTest {
    @TempDir
    Path dir;

    @BeforeEach
    void posixOnly() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews()
                .contains("posix"), "the temporary directory's file system has no POSIX modes");
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void directoriesAre0700EvenWhenTheyExistedWider() throws Exception {
        Path wide = Files.createDirectory(dir.resolve("wide"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(wide, PosixFilePermissions.fromString("rwxr-xr-x"));
        PrivateFiles.directory(wide);
        assertThat(mode(wide)).isEqualTo("rwx------");
        Path fresh = PrivateFiles.directory(dir.resolve("a/b"));
        assertThat(mode(fresh)).isEqualTo("rwx------");
    }

    @Test
    void writtenAndCreatedFilesAre0600() throws Exception {
        Path secret = dir.resolve("secret");
        PrivateFiles.write(secret, "one".getBytes(StandardCharsets.UTF_8));
        PrivateFiles.write(secret, "two".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(secret)).isEqualTo("two");
        assertThat(mode(secret)).isEqualTo("rw-------");
        assertThat(mode(PrivateFiles.createFile(dir.resolve("created")))).isEqualTo("rw-------");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("secret", "created");
        }
    }

    @Test
    void anH2DatabaseLivesIn0600FilesIn0700Directories() throws Exception {
        Path data = dir.resolve("data");
        try (Database db = Database.open("jdbc:h2:file:" + data.resolve("service") + ";WRITE_DELAY=0", "sa", "", 2)) {
            new Sql(db.dataSource()).update("INSERT INTO sample (id) VALUES (?)", "x");
        }
        assertThat(mode(data)).isEqualTo("rwx------");
        assertThat(mode(data.resolve("service.mv.db"))).isEqualTo("rw-------");
    }

    @Test
    void readsTheFileOfAnH2Url() {
        assertThat(Database.h2File("jdbc:h2:file:/var/lib/s/scheduler;WRITE_DELAY=0")).contains(Path.of("/var/lib/s/scheduler"));
        assertThat(Database.h2File("jdbc:h2:/d/x")).contains(Path.of("/d/x"));
        assertThat(Database.h2File("jdbc:h2:mem:x;DB_CLOSE_DELAY=-1")).isEmpty();
        assertThat(Database.h2File("jdbc:postgresql://db/x")).isEmpty();
    }
}
