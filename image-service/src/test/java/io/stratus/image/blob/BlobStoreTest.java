package io.stratus.image.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
    @TempDir
    Path dir;

    @Test
    void dataIsStoredUnderItsSha256OnlyWhenWholeAndOnceForTheSameBytes() throws Exception {
        BlobStore store = new BlobStore(dir);
        byte[] data = new byte[300_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i % 251);
        }
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        BlobStore.Blob blob = store.write(new ByteArrayInputStream(data), 1 << 20, data.length);
        assertThat(blob.sha256()).isEqualTo(sha);
        assertThat(Files.readAllBytes(store.file(sha))).isEqualTo(data);
        store.write(new ByteArrayInputStream(data), 1 << 20, -1);
        assertThat(dir.resolve("blobs").toFile().list()).containsExactly(sha);
        assertThat(dir.resolve("uploads").toFile().list()).isEmpty();
    }

    @Test
    void tooLargeOrTruncatedDataLeavesNothing() throws Exception {
        BlobStore store = new BlobStore(dir);
        assertThatThrownBy(() -> store.write(new ByteArrayInputStream(new byte[2000]), 1000, -1))
                .isInstanceOf(BlobStore.TooLargeException.class);
        assertThatThrownBy(() -> store.write(new ByteArrayInputStream(new byte[500]), 1000, 800))
                .isInstanceOf(BlobStore.IncompleteException.class).hasMessageContaining("500 of the 800");
        BlobStore.Upload upload = store.begin(1000);
        upload.write(ByteBuffer.wrap(new byte[10]));
        upload.abort();
        assertThat(dir.resolve("blobs").toFile().list()).isEmpty();
        assertThat(dir.resolve("uploads").toFile().list()).isEmpty();
    }

    @Test
    void storedDataIsReadableByTheServiceAlone() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"),
                "the temporary directory's file system has no POSIX modes");
        Path root = dir.resolve("images");
        BlobStore store = new BlobStore(root);
        BlobStore.Blob blob = store.write(new ByteArrayInputStream(new byte[4096]), 1 << 20, -1);
        assertThat(mode(blob.file())).isEqualTo("rw-------");
        for (Path d : new Path[] {root, root.resolve("blobs"), root.resolve("uploads")}) {
            assertThat(mode(d)).as(d.toString()).isEqualTo("rwx------");
        }
    }

    private static String mode(Path p) throws Exception {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void onlyDigestsNameFiles() throws Exception {
        BlobStore store = new BlobStore(dir);
        assertThatThrownBy(() -> store.file("../../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
    }
}
