package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** The text forms of the short lists kept in one column each, and the standard attributes' columns. */
final class Columns {
    static final String REVISION = "created_at, updated_at, revision_number";

    private Columns() {
    }

    /** Items joined by {@code ;}, each item's parts by {@code ,} (no address or name holds either). */
    static <T> String join(List<T> items, Function<T, List<String>> parts) {
        List<String> out = new ArrayList<>();
        for (T item : items) {
            out.add(String.join(",", parts.apply(item)));
        }
        return String.join(";", out);
    }

    static <T> List<T> split(String text, Function<String[], T> item) {
        if (text == null || text.isEmpty()) {
            return List.of();
        }
        return Arrays.stream(text.split(";")).map(s -> item.apply(s.split(",", -1))).toList();
    }

    static Revision revision(ResultSet r) throws SQLException {
        return new Revision(r.getTimestamp("created_at").toInstant(), r.getTimestamp("updated_at").toInstant(),
                r.getLong("revision_number"));
    }

    static Optional<String> optional(ResultSet r, String column) throws SQLException {
        return Optional.ofNullable(r.getString(column));
    }

    static Optional<Integer> optionalInt(ResultSet r, String column) throws SQLException {
        int v = r.getInt(column);
        return r.wasNull() ? Optional.empty() : Optional.of(v);
    }

    /** {@code ?, ?, ?} for {@code n} values. */
    static String marks(int n) {
        return String.join(", ", java.util.Collections.nCopies(n, "?"));
    }

    /** Whether a failed statement collided with a unique key (a race to be retried, or "exists"). */
    static boolean collided(RuntimeException e) {
        return e instanceof Sql.SqlException s && s.duplicate();
    }
}
