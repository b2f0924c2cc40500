package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Cinder's key/value metadata of one kind of thing (volumes, snapshots): a table of
 * ({@code ownerColumn}, meta_key, meta_value) rows, whose changes also touch the owner's
 * {@code updated_at}. The names are the stores' constants, never a request's.
 */
final class MetadataTable {
    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final String table;
    private final String ownerColumn;
    private final String ownerTable;

    MetadataTable(DataSource db, Clock clock, String table, String ownerColumn, String ownerTable) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.table = table;
        this.ownerColumn = ownerColumn;
        this.ownerTable = ownerTable;
    }

    Map<String, String> of(String id) {
        Map<String, String> out = new LinkedHashMap<>();
        sql.list("SELECT meta_key, meta_value FROM " + table + " WHERE " + ownerColumn + " = ? ORDER BY meta_key",
                r -> out.put(r.getString(1), r.getString(2)), id);
        return out;
    }

    /** Sets {@code items} (replacing all others when {@code replace}); returns the metadata after. */
    Map<String, String> put(String id, Map<String, String> items, boolean replace) {
        Transaction.run(db, tx -> {
            if (replace) {
                tx.update("DELETE FROM " + table + " WHERE " + ownerColumn + " = ?", id);
            }
            for (Map.Entry<String, String> m : items.entrySet()) {
                tx.update("DELETE FROM " + table + " WHERE " + ownerColumn + " = ? AND meta_key = ?", id, m.getKey());
                tx.update("INSERT INTO " + table + " (" + ownerColumn + ", meta_key, meta_value) VALUES (?, ?, ?)", id,
                        m.getKey(), m.getValue());
            }
            tx.update("UPDATE " + ownerTable + " SET updated_at = ? WHERE id = ?", clock.instant(), id);
            return null;
        });
        return of(id);
    }

    boolean delete(String id, String key) {
        return sql.update("DELETE FROM " + table + " WHERE " + ownerColumn + " = ? AND meta_key = ?", id, key) == 1;
    }
}
