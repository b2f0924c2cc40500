package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import io.stratus.scheduler.selection.RequestSpec;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Server groups, in the scheduler's database. */
public final class ServerGroupStore {
    private final Sql sql;
    private final Clock clock;

    public ServerGroupStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    public void create(ServerGroup g) {
        sql.update("INSERT INTO server_group (id, name, project_id, policy, created_at) VALUES (?, ?, ?, ?, ?)", g.id(),
                g.name(), g.projectId(), g.policy().name(), clock.instant());
    }

    public Optional<ServerGroup> find(String id) {
        return sql.one("SELECT id, name, project_id, policy FROM server_group WHERE id = ?", ServerGroupStore::row, id);
    }

    public List<ServerGroup> list(Optional<String> projectId) {
        return projectId.isPresent()
                ? sql.list("SELECT id, name, project_id, policy FROM server_group WHERE project_id = ? ORDER BY name",
                ServerGroupStore::row, projectId.get())
                : sql.list("SELECT id, name, project_id, policy FROM server_group ORDER BY name", ServerGroupStore::row);
    }

    public boolean delete(String id) {
        return sql.update("DELETE FROM server_group WHERE id = ?", id) > 0;
    }

    private static ServerGroup row(ResultSet r) throws SQLException {
        return new ServerGroup(r.getString(1), r.getString(2), r.getString(3), RequestSpec.Policy.valueOf(r.getString(4)));
    }
}
