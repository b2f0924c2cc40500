package io.stratus.scheduler.keypairs;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Users' keypairs, in the scheduler's database; a name is unique per user. */
public final class KeypairStore {
    private static final String COLUMNS = "id, user_id, name, key_type, public_key, fingerprint, created_at";

    private final Sql sql;
    private final Clock clock;

    public KeypairStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    /** Records a keypair; empty when the user has one of that name already. */
    public Optional<Keypair> create(String userId, String name, KeyType type, String publicKey, String fingerprint) {
        try {
            sql.update("INSERT INTO keypair (user_id, name, key_type, public_key, fingerprint, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?)", userId, name, type.name(), publicKey, fingerprint, clock.instant());
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                return Optional.empty();
            }
            throw e;
        }
        return find(userId, name);
    }

    public Optional<Keypair> find(String userId, String name) {
        return sql.one("SELECT " + COLUMNS + " FROM keypair WHERE user_id = ? AND name = ?", KeypairStore::row, userId,
                name);
    }

    /** A user's keypairs by name. */
    public List<Keypair> list(String userId) {
        return sql.list("SELECT " + COLUMNS + " FROM keypair WHERE user_id = ? ORDER BY name", KeypairStore::row,
                userId);
    }

    public long count(String userId) {
        return sql.count("SELECT COUNT(*) FROM keypair WHERE user_id = ?", userId);
    }

    public boolean delete(String userId, String name) {
        return sql.update("DELETE FROM keypair WHERE user_id = ? AND name = ?", userId, name) == 1;
    }

    private static Keypair row(ResultSet r) throws SQLException {
        return new Keypair(r.getLong("id"), r.getString("user_id"), r.getString("name"),
                KeyType.valueOf(r.getString("key_type")), r.getString("public_key"), r.getString("fingerprint"),
                r.getTimestamp("created_at").toInstant());
    }
}
