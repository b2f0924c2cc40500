package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import io.stratus.database.Where;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The migration records. A status moves only forward from the one expected, so that a replayed
 * event or a second scheduler replica following the same move changes nothing.
 */
public final class MigrationStore {
    private static final String COLUMNS = "id, uuid, server_id, project_id, user_id, migration_type, source_host,"
            + " dest_host, old_flavor_id, new_flavor_id, status, error_code, error_message, created_at, updated_at";

    private final Sql sql;
    private final Clock clock;

    public MigrationStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    /** Records a move that starts now, in {@code status}. */
    public void start(String uuid, Server s, Migration.Type type, String source, String dest, String newFlavorId,
                      Migration.Status status) {
        sql.update("INSERT INTO migration (uuid, server_id, project_id, user_id, migration_type, source_host,"
                        + " dest_host, old_flavor_id, new_flavor_id, status, created_at, updated_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                uuid, s.id(), s.projectId(), s.userId(), type.name(), source, dest, s.flavorId(), newFlavorId,
                status.name(), clock.instant(), clock.instant());
    }

    /** Moves migration {@code uuid} from {@code from} to {@code to}; false if it was not in {@code from}. */
    public boolean advance(String uuid, Migration.Status from, Migration.Status to) {
        return sql.update("UPDATE migration SET status = ?, updated_at = ? WHERE uuid = ? AND status = ?",
                to.name(), clock.instant(), uuid, from.name()) == 1;
    }

    /** Ends migration {@code uuid} in error with {@code fault}, unless it has already ended. */
    public boolean fail(String uuid, Server.Fault fault) {
        return sql.update("UPDATE migration SET status = ?, error_code = ?, error_message = ?, updated_at = ?"
                        + " WHERE uuid = ? AND status IN (?, ?)", Migration.Status.ERROR.name(), fault.code(),
                ServerStore.truncate(fault.message()), clock.instant(), uuid, Migration.Status.RUNNING.name(), Migration.Status.MIGRATING.name()) == 1;
    }

    /** Ends the resize or cold move of {@code serverId} that waits for confirm or revert (one at most). */
    public void settle(String serverId, Migration.Status to) {
        sql.update("UPDATE migration SET status = ?, updated_at = ? WHERE server_id = ? AND status = ?",
                to.name(), clock.instant(), serverId, Migration.Status.FINISHED.name());
    }

    /** Migration {@code uuid}, if there is one. */
    public Optional<Migration> find(String uuid) {
        return sql.list("SELECT " + COLUMNS + " FROM migration WHERE uuid = ?", MigrationStore::row, uuid).stream()
                .findFirst();
    }

    /** The migrations that match every filter given, newest first. */
    public List<Migration> list(Filter filter) {
        Where where = new Where("1 = 1");
        filter.serverId().ifPresent(v -> where.and("server_id = ?", v));
        filter.status().ifPresent(v -> where.and("status = ?", v.name()));
        filter.type().ifPresent(v -> where.and("migration_type = ?", v.name()));
        filter.host().ifPresent(v -> where.and("(source_host = ? OR dest_host = ?)", v, v));
        return sql.list("SELECT " + COLUMNS + " FROM migration" + where.sql() + " ORDER BY created_at DESC, id DESC",
                MigrationStore::row, where.args());
    }

    /** What {@link #list} selects by; an empty filter selects everything. */
    public record Filter(Optional<String> serverId, Optional<Migration.Status> status,
                         Optional<Migration.Type> type, Optional<String> host) {
    }

    private static Migration row(ResultSet r) throws SQLException {
        String code = r.getString("error_code");
        return new Migration(r.getLong("id"), r.getString("uuid"), r.getString("server_id"),
                r.getString("project_id"), r.getString("user_id"), Migration.Type.valueOf(r.getString("migration_type")),
                r.getString("source_host"), r.getString("dest_host"), r.getString("old_flavor_id"),
                r.getString("new_flavor_id"), Migration.Status.valueOf(r.getString("status")),
                code == null ? Optional.empty() : Optional.of(new Server.Fault(code, r.getString("error_message"))),
                r.getTimestamp("created_at").toInstant(), r.getTimestamp("updated_at").toInstant());
    }
}
