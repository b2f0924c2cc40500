package io.stratus.image.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;

/** Image records. Status changes are conditional on the status they leave, so racing uploads never both win. */
public final class ImageStore {
    private static final String COLUMNS = "id, name, owner, visibility, status, disk_format, container_format,"
            + " size_bytes, sha256, min_ram_mib, min_disk_gib, protected, os_hidden, properties, tags, created_at,"
            + " updated_at";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> PROPERTIES = new TypeReference<>() { };
    private static final TypeReference<List<String>> TAGS = new TypeReference<>() { };

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;

    public ImageStore(DataSource db, Clock clock) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
    }

    public void insert(Image i) {
        sql.update("INSERT INTO image (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                i.id(), i.name(), i.owner(), i.visibility(), i.status(), i.diskFormat(), i.containerFormat(),
                i.size().orElse(null), i.sha256().orElse(null), i.minRamMib(), i.minDiskGib(), i.isProtected(),
                i.hidden(), write(new TreeMap<>(i.properties())), write(i.tags()), i.createdAt(), i.updatedAt());
    }

    /**
     * Stores what a user may change of {@code before} (name, owner, visibility, formats, minimums,
     * protection, hidden, properties, tags) as {@code after} has it, if the image is still as
     * {@code before} was read: nothing changed it since (an upload, a delete, another update).
     *
     * @return the image as stored, or empty when it had changed meanwhile
     */
    public Optional<Image> update(Image before, Image after) {
        // Later than what was read, at the precision the database keeps, so that the next
        // writer who read the same row no longer matches it.
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (!now.isAfter(before.updatedAt())) {
            now = before.updatedAt().truncatedTo(ChronoUnit.MICROS).plus(1, ChronoUnit.MICROS);
        }
        int changed = sql.update("UPDATE image SET name = ?, owner = ?, visibility = ?, disk_format = ?,"
                + " container_format = ?, min_ram_mib = ?, min_disk_gib = ?, protected = ?, os_hidden = ?,"
                + " properties = ?, tags = ?, updated_at = ? WHERE id = ? AND updated_at = ? AND status <> 'deleted'",
                after.name(), after.owner(), after.visibility(), after.diskFormat(), after.containerFormat(),
                after.minRamMib(), after.minDiskGib(), after.isProtected(), after.hidden(),
                write(new TreeMap<>(after.properties())), write(after.tags()), now, before.id(),
                before.updatedAt());
        return changed == 1 ? find(before.id()) : Optional.empty();
    }

    public Optional<Image> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM image WHERE id = ? AND status <> 'deleted'", ImageStore::row, id);
    }

    /** Every image that is not deleted, newest first. */
    public List<Image> all() {
        return sql.list("SELECT " + COLUMNS + " FROM image WHERE status <> 'deleted' ORDER BY created_at DESC, id",
                ImageStore::row);
    }

    /** Moves an image from {@code from} to {@code to}; false if it was not in {@code from}. */
    public boolean transition(String id, String from, String to) {
        return sql.update("UPDATE image SET status = ?, reserved_bytes = NULL, updated_at = ? WHERE id = ? AND status = ?",
                to, clock.instant(), id, from) == 1;
    }

    /** An upload finished: the image is active with this size and digest. */
    public boolean activate(String id, long size, String sha256) {
        return sql.update("UPDATE image SET status = 'active', size_bytes = ?, sha256 = ?, reserved_bytes = NULL, updated_at = ?"
                + " WHERE id = ? AND status = 'saving'", size, sha256, clock.instant(), id) == 1;
    }

    /** Bytes a project stores (active images) or may be storing (uploads under way, at what they reserved). */
    public long storedBy(String projectId) {
        return used(sql, projectId);
    }

    private static long used(Sql sql, String projectId) {
        return sql.count("SELECT COALESCE(SUM(CASE WHEN status = 'active' THEN size_bytes"
                + " WHEN status = 'saving' THEN reserved_bytes ELSE 0 END), 0) FROM image WHERE owner = ?", projectId);
    }

    /** How asking to upload into an image went. */
    public enum UploadStart { STARTED, OVER_QUOTA, NOT_QUEUED }

    /**
     * An upload's start: whether it started, how many bytes it reserved and how many its owner had
     * left before.
     */
    public record Reservation(UploadStart outcome, long reserved, long room) {
    }

    /**
     * Moves a queued image to {@code saving} and reserves what its upload may store against its
     * owner's quota: {@code announced} bytes, or when the length is not announced (negative) all
     * the quota left up to {@code perImage}. Starts of one owner's uploads take their turns (the
     * owner's image rows are locked), so uploads started at once cannot reserve more than the quota
     * between them, on every replica sharing the database.
     */
    public Reservation startUpload(String id, String owner, long announced, long perImage, long quota) {
        return Transaction.run(db, tx -> {
            tx.list("SELECT id FROM image WHERE owner = ? ORDER BY id FOR UPDATE", r -> r.getString(1), owner);
            long room = Math.max(0, quota - used(tx, owner));
            long reserve = announced >= 0 ? announced : Math.min(perImage, room);
            if (reserve > room || reserve > perImage || (announced < 0 && reserve == 0)) {
                return new Reservation(UploadStart.OVER_QUOTA, 0, room);
            }
            int started = tx.update("UPDATE image SET status = 'saving', reserved_bytes = ?, updated_at = ?"
                    + " WHERE id = ? AND status = 'queued'", reserve, clock.instant(), id);
            return new Reservation(started == 1 ? UploadStart.STARTED : UploadStart.NOT_QUEUED, started == 1 ? reserve : 0,
                    room);
        });
    }

    /** Whether another live image still holds the data {@code sha256}. */
    public boolean referenced(String sha256) {
        return sql.count("SELECT COUNT(*) FROM image WHERE sha256 = ? AND status = 'active'", sha256) > 0;
    }

    /** Uploads a stopped service left in {@code saving}: they will never finish. */
    public int requeueInterrupted() {
        return sql.update("UPDATE image SET status = 'queued', reserved_bytes = NULL, updated_at = ? WHERE status = 'saving'", clock.instant());
    }

    public boolean markDeleted(String id) {
        return sql.update("UPDATE image SET status = 'deleted', updated_at = ? WHERE id = ? AND status <> 'deleted'",
                clock.instant(), id) == 1;
    }

    private static Image row(ResultSet r) throws SQLException {
        long size = r.getLong("size_bytes");
        Optional<Long> sz = r.wasNull() ? Optional.empty() : Optional.of(size);
        return new Image(r.getString("id"), r.getString("name"), r.getString("owner"), r.getString("visibility"),
                r.getString("status"), r.getString("disk_format"), r.getString("container_format"), sz,
                Optional.ofNullable(r.getString("sha256")), r.getLong("min_ram_mib"), r.getLong("min_disk_gib"),
                r.getBoolean("protected"), r.getBoolean("os_hidden"), read(r.getString("properties"), PROPERTIES),
                read(r.getString("tags"), TAGS), r.getTimestamp("created_at").toInstant(),
                r.getTimestamp("updated_at").toInstant());
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> T read(String json, TypeReference<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an image column does not hold the JSON it should: " + json, e);
        }
    }
}
