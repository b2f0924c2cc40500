package io.stratus.image.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.database.Database;
import io.stratus.local.LocalPostgres;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The image records on both databases the service runs on (H2 embedded, PostgreSQL). */
class ImageStoreTest {
    @Test
    void onH2() {
        try (Database db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4)) {
            recordsKeepTagsHiddenAndFullPropertiesAndChangeOnlyAsRead(new ImageStore(db.dataSource(),
                    Clock.systemUTC()));
        }
    }

    @Test
    void onPostgres() throws Exception {
        try (LocalPostgres pg = LocalPostgres.start();
             Database db = Database.open(pg.createDatabase("stratus_images"), LocalPostgres.USER, "", 4)) {
            recordsKeepTagsHiddenAndFullPropertiesAndChangeOnlyAsRead(new ImageStore(db.dataSource(),
                    Clock.systemUTC()));
        }
    }

    @Test
    void uploadStartsOnH2() throws Exception {
        try (Database db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 10)) {
            concurrentUploadsNeverReserveMoreThanTheQuota(new ImageStore(db.dataSource(), Clock.systemUTC()));
        }
    }

    @Test
    void uploadStartsOnPostgres() throws Exception {
        try (LocalPostgres pg = LocalPostgres.start();
             Database db = Database.open(pg.createDatabase("stratus_uploads"), LocalPostgres.USER, "", 10)) {
            concurrentUploadsNeverReserveMoreThanTheQuota(new ImageStore(db.dataSource(), Clock.systemUTC()));
        }
    }

    /** Eight uploads of 300 bytes start at once against a quota of 1000: three may, and only three do. */
    private static void concurrentUploadsNeverReserveMoreThanTheQuota(ImageStore store) throws Exception {
        int n = 8;
        for (int i = 0; i < n; i++) {
            store.insert(image("u-" + i, Map.of(), List.of()));
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<ImageStore.Reservation>> starts = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "u-" + i;
            starts.add(pool.submit(() -> {
                go.await();
                return store.startUpload(id, "p-1", 300, 500, 1000);
            }));
        }
        go.countDown();
        long started = 0;
        for (java.util.concurrent.Future<ImageStore.Reservation> f : starts) {
            ImageStore.Reservation r = f.get();
            if (r.outcome() == ImageStore.UploadStart.STARTED) {
                started++;
                assertThat(r.reserved()).isEqualTo(300);
            } else {
                assertThat(r.outcome()).isEqualTo(ImageStore.UploadStart.OVER_QUOTA);
                assertThat(r.room()).isEqualTo(100);
            }
        }
        pool.shutdown();
        assertThat(started).isEqualTo(3);
        assertThat(store.storedBy("p-1")).isEqualTo(900);
        List<String> saving = store.all().stream().filter(i -> i.status().equals("saving")).map(Image::id).toList();
        // An upload of unannounced length reserves what is left (100), and then nothing is.
        String queued = store.all().stream().filter(i -> i.status().equals("queued")).map(Image::id).findFirst()
                .orElseThrow();
        assertThat(store.startUpload(queued, "p-1", -1, 500, 1000)).isEqualTo(
                new ImageStore.Reservation(ImageStore.UploadStart.STARTED, 100, 100));
        // A finished upload counts at its size, an aborted one not at all.
        assertThat(store.activate(saving.get(0), 250, "ab".repeat(32))).isTrue();
        assertThat(store.transition(saving.get(1), "saving", "queued")).isTrue();
        assertThat(store.storedBy("p-1")).isEqualTo(250 + 300 + 100);
        assertThat(store.startUpload(saving.get(0), "p-1", 0, 500, 1000).outcome())
                .isEqualTo(ImageStore.UploadStart.NOT_QUEUED);
    }

    static Image image(String id, Map<String, String> properties, List<String> tags) {
        Instant now = Instant.now();
        return new Image(id, "an image", "p-1", "private", "queued", "raw", "bare", Optional.empty(), Optional.empty(),
                0, 0, false, false, properties, tags, now, now);
    }

    private static void recordsKeepTagsHiddenAndFullPropertiesAndChangeOnlyAsRead(ImageStore store) {
        // As many properties as an image takes, each with the longest key and value.
        Map<String, String> full = new TreeMap<>();
        for (int i = 0; i < 128; i++) {
            full.put(String.format("%03d", i) + "k".repeat(252), "\"v\u00e9\"".repeat(63) + "xxx");
        }
        store.insert(image("i-1", full, List.of("zeta", "alpha")));
        Image read = store.find("i-1").orElseThrow();
        assertThat(read.properties()).isEqualTo(full);
        assertThat(read.tags()).containsExactly("alpha", "zeta");
        assertThat(read.hidden()).isFalse();

        Image changed = new Image(read.id(), "renamed", "p-2", "community", read.status(), "qcow2", "ovf", read.size(),
                read.sha256(), 512, 2, true, true, Map.of("os_distro", "debian"), List.of("beta"), read.createdAt(),
                read.updatedAt());
        Image stored = store.update(read, changed).orElseThrow();
        assertThat(stored.name()).isEqualTo("renamed");
        assertThat(stored.owner()).isEqualTo("p-2");
        assertThat(stored.visibility()).isEqualTo("community");
        assertThat(stored.diskFormat()).isEqualTo("qcow2");
        assertThat(stored.containerFormat()).isEqualTo("ovf");
        assertThat(stored.minRamMib()).isEqualTo(512);
        assertThat(stored.minDiskGib()).isEqualTo(2);
        assertThat(stored.isProtected()).isTrue();
        assertThat(stored.hidden()).isTrue();
        assertThat(stored.properties()).containsExactly(Map.entry("os_distro", "debian"));
        assertThat(stored.tags()).containsExactly("beta");
        assertThat(stored.updatedAt()).isAfter(read.updatedAt());

        // A change made on what was read before the last one is refused, and changes nothing.
        assertThat(store.update(read, changed.withTags(List.of("lost")))).isEmpty();
        assertThat(store.find("i-1").orElseThrow().tags()).containsExactly("beta");
        // So is one whose image moved on (an upload began) or went away.
        assertThat(store.transition("i-1", "queued", "saving")).isTrue();
        assertThat(store.update(stored, changed.withTags(List.of("lost")))).isEmpty();
        Image saving = store.find("i-1").orElseThrow();
        assertThat(store.markDeleted("i-1")).isTrue();
        assertThat(store.update(saving, changed.withTags(List.of("lost")))).isEmpty();
        assertThat(store.find("i-1")).isEmpty();
    }
}
