package io.stratus.database;

import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.function.Function;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * Several statements as one unit: {@link #run} hands the work a {@link Sql} whose every statement
 * uses one connection, committed when the work returns and rolled back when it throws. The stores
 * keep writing plain {@link Sql} calls, in a transaction or not.
 */
public final class Transaction {
    private Transaction() {
    }

    /** Runs {@code work} in one READ COMMITTED transaction and returns what it returns. */
    public static <T> T run(DataSource db, Function<Sql, T> work) {
        return run(db, Connection.TRANSACTION_READ_COMMITTED, work);
    }

    /** Runs reads that must see one snapshot (REPEATABLE READ), such as a version and what it versions. */
    public static <T> T snapshot(DataSource db, Function<Sql, T> work) {
        return run(db, Connection.TRANSACTION_REPEATABLE_READ, work);
    }

    private static <T> T run(DataSource db, int isolation, Function<Sql, T> work) {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(isolation);
            try {
                T result = work.apply(new Sql(new Borrowed(c)));
                c.commit();
                return result;
            } catch (RuntimeException | Error e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new Sql.SqlException("transaction", e);
        }
    }

    /** Lends the transaction's connection to every statement; their close leaves it open. */
    private record Borrowed(Connection connection) implements DataSource {
        @Override
        public Connection getConnection() {
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                    new Class<?>[] {Connection.class}, (proxy, method, args) -> {
                        if (method.getName().equals("close")) {
                            return null;
                        }
                        try {
                            return method.invoke(connection, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }

        @Override
        public Connection getConnection(String user, String password) {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            throw new SQLFeatureNotSupportedException();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
