package io.stratus.api;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A map of at most {@code capacity} entries, each good until its own instant: when full, the
 * least recently used entry goes, one at a time, so a burst of new keys never flushes what is in
 * use. Caffeine would do this too, but it is on neither service's class path and the token and
 * login checks need nothing more than this.
 */
public final class BoundedCache<K, V> {
    private record Entry<V>(V value, Instant until) {
    }

    private final int capacity;
    private final LinkedHashMap<K, Entry<V>> entries;

    public BoundedCache(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a cache holds at least one entry, not " + capacity);
        }
        this.capacity = capacity;
        // Access order: get() moves an entry to the young end, removeEldestEntry drops the oldest.
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, Entry<V>> eldest) {
                return size() > BoundedCache.this.capacity;
            }
        };
    }

    /** The value of {@code key} if it is there and still good at {@code now}. */
    public synchronized Optional<V> get(K key, Instant now) {
        Entry<V> e = entries.get(key);
        if (e == null) {
            return Optional.empty();
        }
        if (!e.until().isAfter(now)) {
            entries.remove(key);
            return Optional.empty();
        }
        return Optional.of(e.value());
    }

    public synchronized void put(K key, V value, Instant until) {
        entries.put(key, new Entry<>(value, until));
    }

    public synchronized void remove(K key) {
        entries.remove(key);
    }

    public synchronized int size() {
        return entries.size();
    }
}
