package io.stratus.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw bases for instance layers: qcow2 images made by qemu-img, flattened once into the cache. */
class RawBasesTest {
    @TempDir
    Path dir;
    private Path images;
    private ImageCache cache;
    private RawBases bases;

    @BeforeEach
    void cache() throws Exception {
        images = Files.createDirectories(dir.resolve("images"));
        cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1L << 30, Set::of,
                Clock.systemUTC());
        bases = new RawBases(cache);
    }

    @AfterEach
    void nothingLeftBehind() {
        assertThat(dir.resolve("cache/partial")).isEmptyDirectory();
    }

    @Test
    void aQcow2ImageIsFlattenedOnceToTheBytesItsGuestSees() throws Exception {
        Path raw = images.resolve("source.raw");
        byte[] data = new byte[3 << 20];
        new Random(7).nextBytes(data);
        try (var f = java.nio.channels.FileChannel.open(raw, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            // Data, 8 MiB the image holds nothing of, data again.
            f.write(java.nio.ByteBuffer.wrap(data), 0);
            f.write(java.nio.ByteBuffer.wrap(data), 11L << 20);
        }
        Path qcow2 = DiskBuilder.qcow2(raw);
        Files.move(qcow2, images.resolve("q"));
        Path first;
        try (ImageCache.Lease lease = cache.acquire("q", "")) {
            first = bases.of("q", lease);
            assertThat(first).isNotEqualTo(lease.file());
            assertThat(Files.readAllBytes(first)).isEqualTo(Files.readAllBytes(raw));
        }
        try (ImageCache.Lease lease = cache.acquire("q", "")) {
            assertThat(bases.of("q", lease)).as("kept, not made again").isEqualTo(first);
        }
    }

    @Test
    void aRawImageIsItsOwnBase() throws Exception {
        Files.write(images.resolve("r"), new byte[4096]);
        try (ImageCache.Lease lease = cache.acquire("r", "")) {
            assertThat(bases.of("r", lease)).isEqualTo(lease.file());
        }
    }

    @Test
    void aQcow2ImageWhoseTablesAreBrokenIsRefusedAsCorrupt() throws Exception {
        Path raw = images.resolve("source.raw");
        Files.write(raw, new byte[1 << 20]);
        Path qcow2 = DiskBuilder.qcow2(raw);
        byte[] bytes = Files.readAllBytes(qcow2);
        // The L1 table's offset (header bytes 40-47) pointed past the end of the file.
        for (int i = 40; i < 48; i++) {
            bytes[i] = (byte) 0x7f;
        }
        Files.write(images.resolve("bad"), bytes);
        try (ImageCache.Lease lease = cache.acquire("bad", "")) {
            assertThatThrownBy(() -> bases.of("bad", lease)).isInstanceOf(ImageException.class)
                    .hasMessageContaining("cannot be read as qcow2");
        }
    }
}
