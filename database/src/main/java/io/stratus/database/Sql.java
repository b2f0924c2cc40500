package io.stratus.database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The few JDBC shapes the stores use: one statement on a pooled connection, with arguments bound
 * by type ({@link Instant} as a timestamp). SQL errors become {@link SqlException}, with a
 * constraint violation told apart so that a store can answer "exists already".
 */
public final class Sql {
    private final DataSource db;

    public Sql(DataSource db) {
        this.db = db;
    }

    /** Maps the current row of a result. */
    @FunctionalInterface
    public interface Row<T> {
        T map(ResultSet r) throws SQLException;
    }

    public <T> List<T> list(String sql, Row<T> row, Object... args) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            List<T> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(row.map(r));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new SqlException(sql, e);
        }
    }

    public <T> Optional<T> one(String sql, Row<T> row, Object... args) {
        return list(sql, row, args).stream().findFirst();
    }

    public long count(String sql, Object... args) {
        return one(sql, r -> r.getLong(1), args).orElse(0L);
    }

    /** Runs an INSERT, UPDATE or DELETE; returns the rows changed. */
    public int update(String sql, Object... args) {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            bind(s, args);
            return s.executeUpdate();
        } catch (SQLException e) {
            throw new SqlException(sql, e);
        }
    }

    public static void bind(PreparedStatement s, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a instanceof Instant t) {
                s.setTimestamp(i + 1, Timestamp.from(t));
            } else {
                s.setObject(i + 1, a);
            }
        }
    }

    /** An instant column that may be NULL. */
    public static Optional<Instant> instant(ResultSet r, String column) throws SQLException {
        Timestamp t = r.getTimestamp(column);
        return t == null ? Optional.empty() : Optional.of(t.toInstant());
    }

    /** A statement failed; {@link #duplicate()} tells a unique or foreign-key violation. */
    public static final class SqlException extends RuntimeException {
        private final String state;

        SqlException(String sql, SQLException cause) {
            super("database statement failed (" + cause.getMessage() + "): " + sql, cause);
            this.state = cause.getSQLState();
        }

        public boolean duplicate() {
            return state != null && state.startsWith("23");
        }

        /**
         * Whether the transaction lost to another one (a deadlock or serialization failure, SQLSTATE
         * class 40): running it again from the start is expected to succeed.
         */
        public boolean rolledBackByContention() {
            return state != null && state.startsWith("40");
        }

        /** Whether the database could not be reached: worth trying again later, unlike a bad statement. */
        public boolean unavailable() {
            return unreachable(getCause());
        }
    }

    /**
     * Whether {@code failure} (or a cause of it) says the database could not be reached: a
     * connection that failed or was cut (SQLSTATE class 08), a server shutting down (57P), or a
     * pool that found no connection in time.
     */
    public static boolean unreachable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLRecoverableException
                    || t instanceof SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException e && e.getSQLState() != null
                    && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }
}
