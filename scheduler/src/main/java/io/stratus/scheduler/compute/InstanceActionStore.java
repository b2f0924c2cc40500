package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** The actions taken on each server, kept after the server is deleted, as Nova keeps them. */
public final class InstanceActionStore {
    private static final String COLUMNS = "server_id, request_id, action, project_id, user_id, start_time, message";

    private final Sql sql;

    public InstanceActionStore(DataSource db) {
        this.sql = new Sql(db);
    }

    public void record(InstanceAction a) {
        sql.update("INSERT INTO instance_action (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?)", a.serverId(),
                a.requestId(), a.action(), a.projectId(), a.userId(), a.startTime(), a.message().orElse(null));
    }

    /** A server's actions, newest first. */
    public List<InstanceAction> of(String serverId) {
        return sql.list("SELECT " + COLUMNS + " FROM instance_action WHERE server_id = ? ORDER BY start_time DESC,"
                + " request_id", InstanceActionStore::row, serverId);
    }

    public Optional<InstanceAction> find(String serverId, String requestId) {
        return sql.one("SELECT " + COLUMNS + " FROM instance_action WHERE server_id = ? AND request_id = ?",
                InstanceActionStore::row, serverId, requestId);
    }

    private static InstanceAction row(ResultSet r) throws SQLException {
        return new InstanceAction(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5),
                r.getTimestamp(6).toInstant(), Optional.ofNullable(r.getString(7)));
    }
}
