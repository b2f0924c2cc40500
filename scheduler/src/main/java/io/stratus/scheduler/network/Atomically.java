package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * A transaction that is tried again when it lost a race on a unique key that it picked itself (a
 * free address, a free VNI), or that the database rolled back for contention (a deadlock): the
 * loser rereads what is taken and picks again, as placement claims do on a generation conflict.
 */
final class Atomically {
    private static final int ATTEMPTS = 64;

    /** Thrown inside the work: the row it picked was taken meanwhile; the whole transaction runs again. */
    static final class Collision extends RuntimeException {
        Collision() {
            super(null, null, false, false);
        }
    }

    private Atomically() {
    }

    static <T> T run(DataSource db, Function<Sql, T> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return Transaction.run(db, work);
            } catch (Collision | Sql.SqlException e) {
                // Two changes that bump the same hosts can deadlock; the database picks a loser.
                if (e instanceof Sql.SqlException s && !s.rolledBackByContention()) {
                    throw s;
                }
                if (attempt == ATTEMPTS) {
                    throw new IllegalStateException("gave up after " + ATTEMPTS + " attempts that all lost a race");
                }
                // Spread the retries of many losers so that they do not collide again at once.
                try {
                    Thread.sleep(ThreadLocalRandom.current().nextInt(1 + Math.min(attempt, 10) * 2));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while retrying", ie);
                }
            }
        }
    }

    /** Runs a statement that inserts a row this transaction picked; a collision retries the transaction. */
    static int insertPicked(Sql sql, String statement, Object... args) {
        try {
            return sql.update(statement, args);
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                throw new Collision();
            }
            throw e;
        }
    }
}
