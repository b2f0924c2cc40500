package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/** Attachments: which volume is on which server, its device, mode and NBD export port. */
public final class AttachmentStore {
    private static final String COLUMNS = "id, volume_id, server_id, host, device, mode, status, boot,"
            + " delete_on_termination, nbd_port, attached_at, created_at";

    private final Sql sql;
    private final Clock clock;

    public AttachmentStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    /**
     * Records {@code volumeId} as reserved for {@code serverId}.
     *
     * @throws VolumeException InvalidVolume when it is on that server already
     */
    public Attachment reserve(String volumeId, String serverId, String device, boolean readOnly, boolean boot,
                              boolean deleteOnTermination) {
        String id = UUID.randomUUID().toString();
        try {
            sql.update("INSERT INTO volume_attachment (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    id, volumeId, serverId, null, device, readOnly ? "ro" : "rw", Attachment.RESERVED, boot,
                    deleteOnTermination, null, null, clock.instant());
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                throw VolumeException.invalidVolume("volume " + volumeId + " is already attached to server "
                        + serverId + ".");
            }
            throw e;
        }
        return get(id);
    }

    public Optional<Attachment> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM volume_attachment WHERE id = ?", AttachmentStore::row, id);
    }

    public Attachment get(String id) {
        return find(id).orElseThrow(() -> VolumeException.notFound("Attachment", id));
    }

    public Optional<Attachment> find(String volumeId, String serverId) {
        return sql.one("SELECT " + COLUMNS + " FROM volume_attachment WHERE volume_id = ? AND server_id = ?",
                AttachmentStore::row, volumeId, serverId);
    }

    public List<Attachment> ofVolume(String volumeId) {
        return sql.list("SELECT " + COLUMNS + " FROM volume_attachment WHERE volume_id = ? ORDER BY created_at, id",
                AttachmentStore::row, volumeId);
    }

    public List<Attachment> ofServer(String serverId) {
        return sql.list("SELECT " + COLUMNS + " FROM volume_attachment WHERE server_id = ? ORDER BY boot DESC,"
                + " created_at, id", AttachmentStore::row, serverId);
    }

    /** The attachments of {@code projectId}'s volumes, or of every volume when it is null. */
    public List<Attachment> ofProject(String projectId) {
        if (projectId == null) {
            return all();
        }
        String columns = Arrays.stream(COLUMNS.split(",")).map(c -> "a." + c.strip())
                .collect(Collectors.joining(", "));
        return sql.list("SELECT " + columns + " FROM volume_attachment a JOIN volume v ON v.id = a.volume_id"
                + " WHERE v.project_id = ? ORDER BY a.created_at, a.id", AttachmentStore::row, projectId);
    }

    public List<Attachment> all() {
        return sql.list("SELECT " + COLUMNS + " FROM volume_attachment ORDER BY created_at, id", AttachmentStore::row);
    }

    /** Moves the attachment to {@code next} when it is {@code from}; whether it did. */
    public boolean transition(String id, String from, String next) {
        if (Attachment.ATTACHED.equals(next)) {
            return sql.update("UPDATE volume_attachment SET status = ?, attached_at = ? WHERE id = ? AND status = ?",
                    next, clock.instant(), id, from) == 1;
        }
        return sql.update("UPDATE volume_attachment SET status = ? WHERE id = ? AND status = ?", next, id, from) == 1;
    }

    /** Records the export made for the attachment on {@code host}. */
    public void exported(String id, String host, int nbdPort) {
        sql.update("UPDATE volume_attachment SET host = ?, nbd_port = ? WHERE id = ?", host, nbdPort, id);
    }

    /** The server's attachments that have an export are {@code host}'s now (the server moved there). */
    public void moved(String serverId, String host) {
        sql.update("UPDATE volume_attachment SET host = ? WHERE server_id = ? AND nbd_port IS NOT NULL", host, serverId);
    }

    public void setDevice(String id, String device) {
        sql.update("UPDATE volume_attachment SET device = ? WHERE id = ?", device, id);
    }

    /** The NBD ports in use, so that a new export picks another. */
    public List<Integer> ports() {
        return sql.list("SELECT nbd_port FROM volume_attachment WHERE nbd_port IS NOT NULL", r -> r.getInt(1));
    }

    public void delete(String id) {
        sql.update("DELETE FROM volume_attachment WHERE id = ?", id);
    }

    private static Attachment row(ResultSet r) throws SQLException {
        return new Attachment(r.getString("id"), r.getString("volume_id"), r.getString("server_id"),
                r.getString("host"), r.getString("device"), r.getString("mode"), r.getString("status"),
                r.getBoolean("boot"), r.getBoolean("delete_on_termination"), r.getInt("nbd_port"),
                Sql.instant(r, "attached_at").orElse(null), r.getTimestamp("created_at").toInstant());
    }
}
