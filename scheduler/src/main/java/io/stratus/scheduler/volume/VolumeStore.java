package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * Volumes, their metadata and image properties in the scheduler's database. A status changes only
 * from the statuses {@link VolumeStatus} allows before it, in one conditional UPDATE, so that of two
 * requests racing to start an operation on a volume exactly one wins.
 */
public final class VolumeStore {
    private static final String COLUMNS = "id, project_id, user_id, name, description, size_gb, status,"
            + " availability_zone, type_id, bootable, read_only, multiattach, source_volid, snapshot_id, image_id,"
            + " fault, created_at, updated_at";

    /** What a create names: at most one of source volume, snapshot and image. */
    public record Spec(String projectId, String userId, String name, String description, int sizeGb,
                       String availabilityZone, VolumeType type, String sourceVolid, String snapshotId,
                       String imageId, boolean bootable, Map<String, String> metadata) {
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final MetadataTable metadata;

    public VolumeStore(DataSource db, Clock clock) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.metadata = new MetadataTable(db, clock, "volume_metadata", "volume_id", "volume");
    }

    /** Records a new volume in {@code creating}. */
    public Volume create(Spec s) {
        String id = UUID.randomUUID().toString();
        Transaction.run(db, tx -> {
            tx.update("INSERT INTO volume (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    + " ?, ?)", id, s.projectId(), s.userId(), s.name(), s.description(), s.sizeGb(),
                    VolumeStatus.CREATING.name(), s.availabilityZone(), s.type().id(), s.bootable(), null,
                    s.type().multiattach(), s.sourceVolid(), s.snapshotId(), s.imageId(), null, clock.instant(),
                    clock.instant());
            for (Map.Entry<String, String> m : s.metadata().entrySet()) {
                tx.update("INSERT INTO volume_metadata (volume_id, meta_key, meta_value) VALUES (?, ?, ?)", id,
                        m.getKey(), m.getValue());
            }
            return null;
        });
        return get(id);
    }

    public Optional<Volume> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM volume WHERE id = ?", VolumeStore::row, id);
    }

    public Volume get(String id) {
        return find(id).orElseThrow(() -> VolumeException.notFound("Volume", id));
    }

    /** A project's volumes, or every project's for {@code null}, oldest first. */
    public List<Volume> list(String projectId) {
        return projectId == null
                ? sql.list("SELECT " + COLUMNS + " FROM volume ORDER BY created_at, id", VolumeStore::row)
                : sql.list("SELECT " + COLUMNS + " FROM volume WHERE project_id = ? ORDER BY created_at, id",
                        VolumeStore::row, projectId);
    }

    /**
     * Moves the volume to {@code next} from whichever status allows it.
     *
     * @throws VolumeException 404 when there is no such volume, InvalidVolume when its status does not allow it
     */
    public Volume transition(String id, VolumeStatus next) {
        return transition(id, VolumeStatus.before(next), next);
    }

    /** Moves the volume to {@code next} when its status is one of {@code from}. */
    public Volume transition(String id, Set<VolumeStatus> from, VolumeStatus next) {
        if (!tryTransition(id, from, next)) {
            Volume v = get(id);
            throw VolumeException.invalidVolume("Volume " + id + " status must be " + from.stream()
                    .map(VolumeStatus::apiName).sorted().collect(Collectors.joining(" or ")) + " to become "
                    + next.apiName() + ", but the current status is: " + v.status().apiName() + ".");
        }
        return get(id);
    }

    /** The conditional move alone: whether it happened. */
    public boolean tryTransition(String id, Set<VolumeStatus> from, VolumeStatus next) {
        if (from.isEmpty()) {
            return false;
        }
        String marks = from.stream().map(s -> "?").collect(Collectors.joining(", "));
        Object[] args = new Object[from.size() + 3];
        args[0] = next.name();
        args[1] = clock.instant();
        args[2] = id;
        int i = 3;
        for (VolumeStatus s : EnumSet.copyOf(from)) {
            args[i++] = s.name();
        }
        // An operation that starts clears the last one's fault; one that fails sets it through fail().
        return sql.update("UPDATE volume SET status = ?, updated_at = ?, fault = NULL WHERE id = ? AND status IN ("
                + marks + ")", args) == 1;
    }

    /** Puts the volume in an error status with the reason, whatever its status was. */
    public void fail(String id, VolumeStatus error, String fault) {
        sql.update("UPDATE volume SET status = ?, fault = ?, updated_at = ? WHERE id = ?", error.name(),
                fault.length() > 1024 ? fault.substring(0, 1024) : fault, clock.instant(), id);
    }

    public Volume update(String id, Optional<String> name, Optional<String> description) {
        Volume v = get(id);
        sql.update("UPDATE volume SET name = ?, description = ?, updated_at = ? WHERE id = ?", name.orElse(v.name()),
                description.orElse(v.description()), clock.instant(), id);
        return get(id);
    }

    public void setSize(String id, int sizeGb) {
        sql.update("UPDATE volume SET size_gb = ?, updated_at = ? WHERE id = ?", sizeGb, clock.instant(), id);
    }

    public void setBootable(String id, boolean bootable) {
        sql.update("UPDATE volume SET bootable = ?, updated_at = ? WHERE id = ?", bootable, clock.instant(), id);
    }

    public void setReadOnly(String id, boolean readOnly) {
        sql.update("UPDATE volume SET read_only = ?, updated_at = ? WHERE id = ?", readOnly, clock.instant(), id);
    }

    /** Removes a volume's rows (its file is the pool's). */
    public void delete(String id) {
        Transaction.run(db, tx -> {
            tx.update("DELETE FROM volume_metadata WHERE volume_id = ?", id);
            tx.update("DELETE FROM volume_image_metadata WHERE volume_id = ?", id);
            tx.update("DELETE FROM volume WHERE id = ?", id);
            return null;
        });
    }

    public Map<String, String> metadata(String id) {
        return metadata.of(id);
    }

    /** Every volume's metadata of a project (or all), for listing without one query per volume. */
    public Map<String, Map<String, String>> metadataOf(String projectId) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        String q = "SELECT m.volume_id, m.meta_key, m.meta_value FROM volume_metadata m JOIN volume v ON"
                + " v.id = m.volume_id" + (projectId == null ? "" : " WHERE v.project_id = ?") + " ORDER BY m.meta_key";
        sql.list(q, r -> out.computeIfAbsent(r.getString(1), k -> new LinkedHashMap<>()).put(r.getString(2),
                r.getString(3)), projectId == null ? new Object[0] : new Object[] {projectId});
        return out;
    }

    /** Sets {@code items} (replacing all others when {@code replace}); returns the metadata after. */
    public Map<String, String> putMetadata(String id, Map<String, String> items, boolean replace) {
        return metadata.put(id, items, replace);
    }

    public boolean deleteMetadata(String id, String key) {
        return metadata.delete(id, key);
    }

    public Map<String, String> imageMetadata(String id) {
        return pairs("SELECT meta_key, meta_value FROM volume_image_metadata WHERE volume_id = ? ORDER BY meta_key",
                id);
    }

    public void putImageMetadata(String id, Map<String, String> items) {
        Transaction.run(db, tx -> {
            for (Map.Entry<String, String> m : items.entrySet()) {
                tx.update("DELETE FROM volume_image_metadata WHERE volume_id = ? AND meta_key = ?", id, m.getKey());
                tx.update("INSERT INTO volume_image_metadata (volume_id, meta_key, meta_value) VALUES (?, ?, ?)", id,
                        m.getKey(), m.getValue().length() > 4096 ? m.getValue().substring(0, 4096) : m.getValue());
            }
            return null;
        });
    }

    /** A project's volume count and GiB, for its quota. */
    public long[] usage(String projectId) {
        return sql.one("SELECT COUNT(*), COALESCE(SUM(size_gb), 0) FROM volume WHERE project_id = ?",
                r -> new long[] {r.getLong(1), r.getLong(2)}, projectId).orElse(new long[2]);
    }

    private Map<String, String> pairs(String query, String id) {
        Map<String, String> out = new LinkedHashMap<>();
        sql.list(query, r -> out.put(r.getString(1), r.getString(2)), id);
        return out;
    }

    private static Volume row(ResultSet r) throws SQLException {
        return new Volume(r.getString("id"), r.getString("project_id"), r.getString("user_id"), r.getString("name"),
                r.getString("description"), r.getInt("size_gb"), VolumeStatus.valueOf(r.getString("status")),
                r.getString("availability_zone"), r.getString("type_id"), r.getBoolean("bootable"),
                (Boolean) r.getObject("read_only"), r.getBoolean("multiattach"), r.getString("source_volid"),
                r.getString("snapshot_id"), r.getString("image_id"), r.getString("fault"),
                r.getTimestamp("created_at").toInstant(), r.getTimestamp("updated_at").toInstant());
    }
}
