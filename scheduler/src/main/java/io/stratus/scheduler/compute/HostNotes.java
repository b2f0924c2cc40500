package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import java.util.Optional;
import javax.sql.DataSource;

/** Why an operator disabled a host; the switch itself is placement's. */
public final class HostNotes {
    private final Sql sql;

    public HostNotes(DataSource db) {
        this.sql = new Sql(db);
    }

    public Optional<String> reason(String host) {
        return sql.one("SELECT disabled_reason FROM compute_service WHERE host = ?", r -> r.getString(1), host);
    }

    public void disabled(String host, String reason) {
        if (sql.update("UPDATE compute_service SET disabled_reason = ? WHERE host = ?", reason, host) == 0) {
            sql.update("INSERT INTO compute_service (host, disabled_reason) VALUES (?, ?)", host, reason);
        }
    }

    public void clear(String host) {
        sql.update("DELETE FROM compute_service WHERE host = ?", host);
    }
}
