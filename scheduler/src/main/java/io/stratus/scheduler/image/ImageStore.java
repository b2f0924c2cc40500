package io.stratus.scheduler.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;

/** Image records, in the scheduler's database (until the image service keeps them). */
public final class ImageStore {
    private static final String COLUMNS = "id, name, owner, visibility, status, disk_format, container_format, size_bytes,"
            + " sha256, min_ram_mib, min_disk_gib, kernel_id, ramdisk_id, os_command_line, properties, created_at, updated_at";
    private final Sql sql;
    private final Clock clock;

    public ImageStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    public void insert(Image i) {
        sql.update("INSERT INTO image (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", i.id(),
                i.name(), i.owner(), i.visibility(), i.status(), i.diskFormat(), i.containerFormat(), i.size(),
                i.sha256(), i.minRamMib(), i.minDiskGib(), i.kernelId(), i.ramdiskId(), i.osCommandLine(),
                writeProperties(i.properties()), i.createdAt(), i.updatedAt());
    }

    public Optional<Image> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM image WHERE id = ?", ImageStore::row, id);
    }

    /** Images a project may see: its own and the public ones; all for {@code projectId} empty. */
    public List<Image> visibleTo(Optional<String> projectId) {
        return projectId.isPresent()
                ? sql.list("SELECT " + COLUMNS + " FROM image WHERE owner = ? OR visibility = 'public'"
                + " ORDER BY created_at DESC, id", ImageStore::row, projectId.get())
                : sql.list("SELECT " + COLUMNS + " FROM image ORDER BY created_at DESC, id", ImageStore::row);
    }

    /** Moves an image from {@code from} to {@code to}; false if it was not in {@code from}. */
    public boolean transition(String id, String from, String to) {
        return sql.update("UPDATE image SET status = ?, updated_at = ? WHERE id = ? AND status = ?", to, clock.instant(),
                id, from) == 1;
    }

    /** An upload finished: the image is active with this size and digest. */
    public boolean activate(String id, long size, String sha256) {
        return sql.update("UPDATE image SET status = 'active', size_bytes = ?, sha256 = ?, updated_at = ?"
                + " WHERE id = ? AND status = 'saving'", size, sha256, clock.instant(), id) == 1;
    }

    public boolean delete(String id) {
        return sql.update("DELETE FROM image WHERE id = ?", id) > 0;
    }

    private static Image row(ResultSet r) throws SQLException {
        return new Image(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5), r.getString(6),
                r.getString(7), r.getLong(8), r.getString(9), r.getLong(10), r.getLong(11), r.getString(12),
                r.getString(13), r.getString(14), readProperties(r.getString(15)), r.getTimestamp(16).toInstant(),
                r.getTimestamp(17).toInstant());
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String writeProperties(Map<String, String> properties) {
        try {
            return JSON.writeValueAsString(new TreeMap<>(properties));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> readProperties(String json) {
        try {
            return JSON.readValue(json, new TypeReference<Map<String, String>>() { });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("image properties are not a JSON object: " + json, e);
        }
    }
}
