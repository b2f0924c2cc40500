package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Servers' own key/value metadata (Nova's instance metadata). A change is one transaction: a
 * replacement or a merge is seen whole or not at all, and a merge that would leave a server with
 * more items than its limit leaves it as it was.
 */
public final class ServerMetadataStore {
    /** Servers' metadata read per query in a listing. */
    private static final int BATCH = 500;

    private final DataSource db;
    private final Sql sql;

    public ServerMetadataStore(DataSource db) {
        this.db = db;
        this.sql = new Sql(db);
    }

    /** A server's metadata, by key. */
    public Map<String, String> of(String serverId) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, String> e : sql.list("SELECT meta_key, meta_value FROM server_metadata WHERE server_id = ?",
                r -> Map.entry(r.getString(1), r.getString(2)), serverId)) {
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** The metadata of several servers (for a listing); a server without any is missing from the answer. */
    public Map<String, Map<String, String>> of(Collection<String> serverIds) {
        Map<String, Map<String, String>> out = new HashMap<>();
        List<String> ids = List.copyOf(serverIds);
        for (int from = 0; from < ids.size(); from += BATCH) {
            List<String> batch = ids.subList(from, Math.min(ids.size(), from + BATCH));
            String marks = String.join(", ", Collections.nCopies(batch.size(), "?"));
            for (String[] row : sql.list("SELECT server_id, meta_key, meta_value FROM server_metadata WHERE server_id IN ("
                    + marks + ")", r -> new String[] {r.getString(1), r.getString(2), r.getString(3)}, batch.toArray())) {
                out.computeIfAbsent(row[0], k -> new TreeMap<>()).put(row[1], row[2]);
            }
        }
        return out;
    }

    /** Makes {@code metadata} the server's whole metadata. */
    public void replace(String serverId, Map<String, String> metadata) {
        inTransaction(c -> {
            execute(c, "DELETE FROM server_metadata WHERE server_id = ?", serverId);
            insert(c, serverId, metadata);
            return true;
        });
    }

    /**
     * Sets the items of {@code metadata}, keeping the server's others; false, changing nothing,
     * if the server would then have more than {@code limit} items (-1: no limit).
     */
    public boolean merge(String serverId, Map<String, String> metadata, long limit) {
        return inTransaction(c -> {
            for (String key : metadata.keySet()) {
                execute(c, "DELETE FROM server_metadata WHERE server_id = ? AND meta_key = ?", serverId, key);
            }
            insert(c, serverId, metadata);
            if (limit < 0) {
                return true;
            }
            try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM server_metadata WHERE server_id = ?")) {
                s.setString(1, serverId);
                try (var r = s.executeQuery()) {
                    r.next();
                    return r.getLong(1) <= limit;
                }
            }
        });
    }

    /** Removes one item; false if the server had none of that key. */
    public boolean delete(String serverId, String key) {
        return sql.update("DELETE FROM server_metadata WHERE server_id = ? AND meta_key = ?", serverId, key) == 1;
    }

    private static void insert(Connection c, String serverId, Map<String, String> metadata) throws SQLException {
        if (metadata.isEmpty()) {
            return;
        }
        try (PreparedStatement s = c.prepareStatement(
                "INSERT INTO server_metadata (server_id, meta_key, meta_value) VALUES (?, ?, ?)")) {
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                Sql.bind(s, serverId, e.getKey(), e.getValue());
                s.addBatch();
            }
            s.executeBatch();
        }
    }

    private static void execute(Connection c, String statement, Object... args) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(statement)) {
            Sql.bind(s, args);
            s.executeUpdate();
        }
    }

    private interface Work {
        boolean run(Connection c) throws SQLException;
    }

    /** Runs {@code work} in one transaction, committed if it answers true and rolled back otherwise. */
    private boolean inTransaction(Work work) {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            try {
                boolean keep = work.run(c);
                if (keep) {
                    c.commit();
                } else {
                    c.rollback();
                }
                return keep;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("server metadata could not be written: " + e.getMessage(), e);
        }
    }
}
