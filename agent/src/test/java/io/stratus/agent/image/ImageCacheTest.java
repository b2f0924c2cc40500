package io.stratus.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache's own rules: verified fetches (a bad one fetched again, then refused), one download
 * for concurrent requests, LRU eviction that spares images in use. The source here is a
 * stand-in that can serve wrong data on purpose; the agent's integration tests fetch from the
 * real image service.
 */
class ImageCacheTest {
    @TempDir
    Path dir;

    /** Serves images from memory; can corrupt the next N downloads and hold downloads at a gate. */
    static final class MemorySource implements ImageSource {
        final Map<String, byte[]> images = new ConcurrentHashMap<>();
        final AtomicInteger opens = new AtomicInteger();
        final AtomicInteger corruptNext = new AtomicInteger();
        volatile CountDownLatch gate = new CountDownLatch(0);

        @Override
        public ImageInfo describe(String id) {
            byte[] data = images.get(id);
            if (data == null) {
                throw new ImageException("ImageNotFound", "no image " + id);
            }
            return new ImageInfo(id, sha(data), data.length, "raw");
        }

        @Override
        public InputStream open(String id) throws IOException {
            opens.incrementAndGet();
            try {
                gate.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            byte[] data = images.get(id).clone();
            if (corruptNext.getAndDecrement() > 0) {
                data[data.length / 2] ^= 1;
            }
            return new ByteArrayInputStream(data);
        }

        @Override
        public String describeSelf() {
            return "memory";
        }
    }

    private final MemorySource source = new MemorySource();
    private final Set<String> inUse = ConcurrentHashMap.newKeySet();
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    private ImageCache cache(long maxBytes) {
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        };
        return new ImageCache(dir.resolve("cache"), source, maxBytes, () -> new HashSet<>(inUse), clock);
    }

    private static byte[] data(int size, int seed) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    static String sha(byte[] data) {
        return HexFormat.of().formatHex(ImageCache.sha256().digest(data));
    }

    @Test
    void aFetchedImageIsVerifiedAndServedFromTheCacheAfterwards() throws Exception {
        byte[] a = data(100_000, 1);
        source.images.put("a", a);
        ImageCache cache = cache(1 << 20);
        try (ImageCache.Lease l = cache.acquire("a", sha(a))) {
            assertThat(Files.readAllBytes(l.file())).isEqualTo(a);
        }
        try (ImageCache.Lease l = cache.acquire("a", "")) {
            assertThat(l.sha256()).isEqualTo(sha(a));
        }
        assertThat(source.opens.get()).isEqualTo(1);
        assertThat(cache.stats().hits()).isEqualTo(1);
        // A new agent process on the same cache directory: still no download.
        try (ImageCache.Lease l = cache(1 << 20).acquire("a", sha(a))) {
            assertThat(Files.size(l.file())).isEqualTo(a.length);
        }
        assertThat(source.opens.get()).isEqualTo(1);
    }

    @Test
    void aDownloadThatDoesNotMatchItsSha256IsFetchedAgainThenRefused() {
        byte[] a = data(50_000, 2);
        source.images.put("a", a);
        ImageCache cache = cache(1 << 20);
        source.corruptNext.set(1);
        try (ImageCache.Lease l = cache.acquire("a", sha(a))) {
            assertThat(l.sha256()).isEqualTo(sha(a));
        }
        assertThat(source.opens.get()).isEqualTo(2);
        assertThat(cache.stats().checksumMismatches()).isEqualTo(1);

        source.images.put("b", data(50_000, 3));
        source.corruptNext.set(2);
        assertThatThrownBy(() -> cache.acquire("b", ""))
                .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code())
                        .isEqualTo("ImageChecksumMismatch"))
                .hasMessageContaining("twice");
        assertThat(cache.stats().images()).as("nothing unverified is kept").isEqualTo(1);
        assertThat(dir.resolve("cache/partial").toFile().list()).isEmpty();
    }

    @Test
    void aRequestThatExpectsOtherDataThanTheSourceHasIsRefusedWithoutDownloading() {
        source.images.put("a", data(1000, 4));
        assertThatThrownBy(() -> cache(1 << 20).acquire("a", sha(data(1000, 5))))
                .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code())
                        .isEqualTo("ImageChecksumMismatch"));
        assertThat(source.opens.get()).isZero();
    }

    @Test
    void concurrentRequestsForOneImageDownloadItOnce() throws Exception {
        byte[] a = data(200_000, 6);
        source.images.put("a", a);
        ImageCache cache = cache(1 << 20);
        source.gate = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> all = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                all.add(pool.submit(() -> {
                    try (ImageCache.Lease l = cache.acquire("a", "")) {
                        return l.sha256();
                    }
                }));
            }
            Thread.sleep(300);
            source.gate.countDown();
            for (Future<String> f : all) {
                assertThat(f.get()).isEqualTo(sha(a));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(source.opens.get()).isEqualTo(1);
    }

    @Test
    void theLeastRecentlyUsedImageGoesFirstButNeverOneInUse() throws Exception {
        ImageCache cache = cache(300_000);
        for (String id : List.of("a", "b", "c", "d")) {
            source.images.put(id, data(100_000, id.charAt(0)));
        }
        inUse.add("a");
        cache.acquire("a", "").close();
        now = now.plusSeconds(10);
        cache.acquire("b", "").close();
        now = now.plusSeconds(10);
        ImageCache.Lease c = cache.acquire("c", "");
        now = now.plusSeconds(10);
        // Full: d evicts b (the oldest not in use; a is older but an instance uses it).
        cache.acquire("d", "").close();
        assertThat(cache.known()).containsKeys("a", "b", "c", "d");
        assertThat(Files.exists(c.file())).isTrue();
        assertThat(dir.resolve("cache/blobs").resolve(sha(source.images.get("b")))).doesNotExist();
        assertThat(dir.resolve("cache/blobs").resolve(sha(source.images.get("a")))).exists();
        // Everything left is in use or leased: a fifth image does not fit, and says why.
        source.images.put("e", data(100_000, 'e'));
        inUse.add("d");
        assertThatThrownBy(() -> cache.acquire("e", ""))
                .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code()).isEqualTo("ImageCacheFull"))
                .hasMessageContaining("in use");
        c.close();
        try (ImageCache.Lease e = cache.acquire("e", "")) {
            assertThat(Files.exists(e.file())).isTrue();
        }
        assertThat(cache.stats().bytes()).isLessThanOrEqualTo(300_000);
    }

    @Test
    void idsThatAreNotPlainNamesAreRefused() {
        ImageCache cache = cache(1 << 20);
        for (String bad : List.of("../etc/passwd", "", "a/b", ".hidden")) {
            assertThatThrownBy(() -> cache.acquire(bad, ""))
                    .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.code()).isEqualTo("ImageNotFound"));
        }
        assertThatThrownBy(() -> cache.acquire("a", "not-a-digest")).isInstanceOf(ImageException.class);
    }

    /** A directory of files made from an image, ready to be kept. */
    private static Path made(ImageCache cache, int bytes) throws IOException {
        Path scratch = cache.scratchDir();
        Path out = Files.createDirectory(scratch.resolve("out"));
        Files.write(out.resolve("kernel"), new byte[bytes]);
        return out;
    }

    @Test
    void filesMadeFromAnImageAreKeptBesideItCountAgainstTheBoundAndGoWithIt() throws Exception {
        ImageCache cache = cache(300_000);
        for (String id : List.of("a", "b", "c")) {
            source.images.put(id, data(100_000, id.charAt(0)));
        }
        Path kept;
        try (ImageCache.Lease a = cache.acquire("a", "")) {
            assertThat(cache.derived(a, "boot")).isEmpty();
            kept = cache.keepDerived(a, "boot", made(cache, 50_000));
            assertThat(cache.derived(a, "boot")).contains(kept);
            assertThat(kept.resolve("kernel")).hasSize(50_000);
        }
        assertThat(cache.stats().bytes()).isEqualTo(150_000);
        now = now.plusSeconds(10);
        cache.acquire("b", "").close();
        now = now.plusSeconds(10);
        // 250 000 bytes held: c does not fit beside a and its files, so a (the oldest) goes, with them.
        cache.acquire("c", "").close();
        assertThat(dir.resolve("cache/blobs").resolve(sha(source.images.get("a")))).doesNotExist();
        assertThat(kept).doesNotExist();
    }

    @Test
    void theFirstOfTwoRacingKeepsStaysAndTheOtherIsDeleted() throws Exception {
        ImageCache cache = cache(1 << 20);
        source.images.put("a", data(1000, 1));
        try (ImageCache.Lease a = cache.acquire("a", "")) {
            Path first = made(cache, 10);
            Path second = made(cache, 20);
            Path kept = cache.keepDerived(a, "boot", first);
            assertThat(cache.keepDerived(a, "boot", second)).isEqualTo(kept);
            assertThat(kept.resolve("kernel")).hasSize(10);
            assertThat(second).doesNotExist();
        }
    }

    @Test
    void anOpenedCacheDropsWhatAnEarlierProcessLeftHalfDone() throws Exception {
        ImageCache cache = cache(1 << 20);
        source.images.put("a", data(1000, 1));
        Path orphan = dir.resolve("cache/derived").resolve("0".repeat(64)).resolve("boot");
        Path kept;
        try (ImageCache.Lease a = cache.acquire("a", "")) {
            kept = cache.keepDerived(a, "boot", made(cache, 10));
        }
        Path leftover = made(cache, 10);
        Files.createDirectories(orphan);

        cache(1 << 20);

        assertThat(leftover.getParent()).doesNotExist();
        assertThat(orphan.getParent()).as("files of an image no longer cached").doesNotExist();
        assertThat(kept).as("files of an image still cached").exists();
    }

    @Test
    void namesOfMadeFilesAreChecked() throws Exception {
        ImageCache cache = cache(1 << 20);
        source.images.put("a", data(1000, 1));
        try (ImageCache.Lease a = cache.acquire("a", "")) {
            assertThatThrownBy(() -> cache.derived(a, "../x")).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
