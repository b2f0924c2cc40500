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
