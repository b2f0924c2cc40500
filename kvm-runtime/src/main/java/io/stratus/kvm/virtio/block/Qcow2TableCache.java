package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The most recently used tables of one kind (L2 tables, or refcount blocks), by their offset in
 * the file, up to a number of tables. A dirty table is never dropped: it may only be written back
 * with all the image's metadata, in the image's crash-safe order, so when every table is dirty the
 * cache asks the image to write back first. Not thread-safe: the image's lock guards it.
 */
final class Qcow2TableCache {
    /** Writes all of the image's dirty metadata back, in the order that keeps it consistent. */
    @FunctionalInterface
    interface WriteBack {
        void run() throws IOException;
    }

    private final LinkedHashMap<Long, Qcow2Table> tables = new LinkedHashMap<>(16, 0.75f, true);
    private final int limit;
    private final WriteBack writeBack;

    /** Holds {@code bytes} worth of {@code clusterSize} tables, and at least four. */
    Qcow2TableCache(long bytes, int clusterSize, WriteBack writeBack) {
        this.limit = (int) Math.max(4, bytes / clusterSize);
        this.writeBack = writeBack;
    }

    /** The table at {@code offset}, if it is cached (it becomes the most recently used). */
    Qcow2Table get(long offset) {
        return tables.get(offset);
    }

    /**
     * Caches {@code t}; past the limit, drops the least recently used clean table (writing every
     * dirty table back first if none is clean). Never drops {@code t}.
     */
    void put(Qcow2Table t) throws IOException {
        tables.put(t.offset, t);
        if (tables.size() <= limit) {
            return;
        }
        if (!dropClean(t)) {
            writeBack.run();
            dropClean(t);
        }
    }

    boolean anyDirty() {
        return tables.values().stream().anyMatch(t -> t.dirty);
    }

    /** Writes every dirty table back to its cluster. */
    void writeDirty(LockedFile file) throws IOException {
        for (Qcow2Table t : tables.values()) {
            if (t.dirty) {
                t.write(file);
            }
        }
    }

    /**
     * Drops the least recently used clean table but {@code keep}: the caller is about to use
     * {@code keep}, and a change to a table that is no longer cached would never be written.
     */
    private boolean dropClean(Qcow2Table keep) {
        Iterator<Map.Entry<Long, Qcow2Table>> it = tables.entrySet().iterator();
        while (it.hasNext()) {
            Qcow2Table t = it.next().getValue();
            if (!t.dirty && t != keep) {
                it.remove();
                return true;
            }
        }
        return false;
    }
}
