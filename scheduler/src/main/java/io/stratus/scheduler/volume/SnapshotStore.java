package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/** Snapshots and their metadata in the scheduler's database. */
public final class SnapshotStore {
    private static final String COLUMNS = "id, project_id, user_id, volume_id, name, description, size_gb, status,"
            + " fault, created_at, updated_at";

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final MetadataTable metadata;

    public SnapshotStore(DataSource db, Clock clock) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.metadata = new MetadataTable(db, clock, "snapshot_metadata", "snapshot_id", "volume_snapshot");
    }

    /** Records a new snapshot of {@code volume} in {@code creating}. */
    public Snapshot create(Volume volume, String projectId, String userId, String name, String description,
                           Map<String, String> metadata) {
        String id = UUID.randomUUID().toString();
        Transaction.run(db, tx -> {
            tx.update("INSERT INTO volume_snapshot (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", id,
                    projectId, userId, volume.id(), name, description, volume.sizeGb(), Snapshot.CREATING, null,
                    clock.instant(), clock.instant());
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                tx.update("INSERT INTO snapshot_metadata (snapshot_id, meta_key, meta_value) VALUES (?, ?, ?)", id,
                        m.getKey(), m.getValue());
            }
            return null;
        });
        return get(id);
    }

    public Optional<Snapshot> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM volume_snapshot WHERE id = ?", SnapshotStore::row, id);
    }

    public Snapshot get(String id) {
        return find(id).orElseThrow(() -> VolumeException.notFound("Snapshot", id));
    }

    /** A project's snapshots, or every project's for {@code null}, oldest first. */
    public List<Snapshot> list(String projectId) {
        return projectId == null
                ? sql.list("SELECT " + COLUMNS + " FROM volume_snapshot ORDER BY created_at, id", SnapshotStore::row)
                : sql.list("SELECT " + COLUMNS + " FROM volume_snapshot WHERE project_id = ? ORDER BY created_at, id",
                        SnapshotStore::row, projectId);
    }

    public long countOf(String volumeId) {
        return sql.count("SELECT COUNT(*) FROM volume_snapshot WHERE volume_id = ?", volumeId);
    }

    /** A project's snapshot count and GiB, for its quota. */
    public long[] usage(String projectId) {
        return sql.one("SELECT COUNT(*), COALESCE(SUM(size_gb), 0) FROM volume_snapshot WHERE project_id = ?",
                r -> new long[] {r.getLong(1), r.getLong(2)}, projectId).orElse(new long[2]);
    }

    /** Moves the snapshot to {@code next} when its status is {@code from}; whether it did. */
    public boolean transition(String id, String from, String next) {
        return sql.update("UPDATE volume_snapshot SET status = ?, fault = NULL, updated_at = ? WHERE id = ? AND"
                + " status = ?", next, clock.instant(), id, from) == 1;
    }

    public void fail(String id, String error, String fault) {
        sql.update("UPDATE volume_snapshot SET status = ?, fault = ?, updated_at = ? WHERE id = ?", error,
                fault.length() > 1024 ? fault.substring(0, 1024) : fault, clock.instant(), id);
    }

    public Snapshot update(String id, Optional<String> name, Optional<String> description) {
        Snapshot s = get(id);
        sql.update("UPDATE volume_snapshot SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                name.orElse(s.name()), description.orElse(s.description()), clock.instant(), id);
        return get(id);
    }

    public void delete(String id) {
        Transaction.run(db, tx -> {
            tx.update("DELETE FROM snapshot_metadata WHERE snapshot_id = ?", id);
            tx.update("DELETE FROM volume_snapshot WHERE id = ?", id);
            return null;
        });
    }

    public Map<String, String> metadata(String id) {
        return metadata.of(id);
    }

    /** Sets {@code items} (replacing all others when {@code replace}); returns the metadata after. */
    public Map<String, String> putMetadata(String id, Map<String, String> items, boolean replace) {
        return metadata.put(id, items, replace);
    }

    public boolean deleteMetadata(String id, String key) {
        return metadata.delete(id, key);
    }

    private static Snapshot row(ResultSet r) throws SQLException {
        return new Snapshot(r.getString("id"), r.getString("project_id"), r.getString("user_id"),
                r.getString("volume_id"), r.getString("name"), r.getString("description"), r.getInt("size_gb"),
                r.getString("status"), r.getString("fault"), r.getTimestamp("created_at").toInstant(),
                r.getTimestamp("updated_at").toInstant());
    }
}
