package io.stratus.database;

import java.util.ArrayList;
import java.util.List;

/**
 * A WHERE clause grown by the filters a request gives: each {@link #and} adds a condition and the
 * values of its placeholders, in order, so that the two never drift apart.
 */
public final class Where {
    private final StringBuilder clause;
    private final List<Object> args = new ArrayList<>();

    /** A clause that holds {@code condition} (a constant one, such as {@code deleted = FALSE}) at least. */
    public Where(String condition) {
        this.clause = new StringBuilder(" WHERE ").append(condition);
    }

    /** Adds {@code condition}, whose placeholders take {@code values}. */
    public Where and(String condition, Object... values) {
        clause.append(" AND ").append(condition);
        args.addAll(List.of(values));
        return this;
    }

    /** The clause, with a leading space, to append to a statement. */
    public String sql() {
        return clause.toString();
    }

    /** The values for the clause's placeholders, in order. */
    public Object[] args() {
        return args.toArray();
    }
}
