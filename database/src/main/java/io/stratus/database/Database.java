package io.stratus.database;

import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalPropertiesReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * A service's database, chosen by URL at run time: an H2 file for the all-in-one cloud, or
 * PostgreSQL that several replicas share. Flyway brings the schema up to date (from the service's
 * {@code db/migration} on the classpath) before anything else touches it.
 */
public final class Database implements AutoCloseable {
    private final AgroalDataSource dataSource;

    private Database(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Opens a pool on {@code url} and migrates the schema. An H2 file holds tenant data: its
     * directory is made 0700 before H2 creates anything in it and its files 0600 once they exist.
     */
    public static Database open(String url, String user, String password, int poolSize) {
        if (!url.startsWith("jdbc:h2:") && !url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("a database URL is jdbc:h2:... or jdbc:postgresql:...,"
                    + " not " + url);
        }
        Optional<Path> h2File = h2File(url);
        if (h2File.isPresent()) {
            try {
                PrivateFiles.directory(h2File.get().toAbsolutePath().getParent());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot make the database directory of " + url + " private", e);
            }
        }
        Map<String, String> p = new HashMap<>();
        p.put(AgroalPropertiesReader.JDBC_URL, url);
        p.put(AgroalPropertiesReader.PRINCIPAL, user);
        p.put(AgroalPropertiesReader.CREDENTIAL, password);
        p.put(AgroalPropertiesReader.MAX_SIZE, Integer.toString(poolSize));
        p.put(AgroalPropertiesReader.MIN_SIZE, "1");
        p.put(AgroalPropertiesReader.INITIAL_SIZE, "1");
        p.put(AgroalPropertiesReader.ACQUISITION_TIMEOUT_S, "10");
        // After a database outage the pooled connections are dead: a connection failure drops the
        // connection instead of returning it, and a connection is checked before it is lent.
        p.put(AgroalPropertiesReader.EXCEPTION_SORTER, url.startsWith("jdbc:postgresql:")
                ? "io.agroal.api.exceptionsorter.PostgreSQLExceptionSorter" : "default");
        p.put(AgroalPropertiesReader.VALIDATE_ON_BORROW, "true");
        p.put(AgroalPropertiesReader.CONNECTION_VALIDATOR, "default");
        AgroalDataSource ds;
        try {
            ds = AgroalDataSource.from(new AgroalPropertiesReader().readProperties(p).get());
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the database " + url + ": " + e.getMessage(), e);
        }
        try {
            Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new IllegalStateException("cannot migrate the database " + url + ": " + e.getMessage(), e);
        }
        if (h2File.isPresent()) {
            Path f = h2File.get().toAbsolutePath();
            try {
                PrivateFiles.restrictAll(f.getParent(), f.getFileName().toString() + ".");
            } catch (IOException e) {
                ds.close();
                throw new UncheckedIOException("cannot make the files of " + url + " private", e);
            }
        }
        return new Database(ds);
    }

    /** The file an H2 URL names ({@code jdbc:h2:file:/dir/name;...} or {@code jdbc:h2:/dir/name}), without H2's suffix. */
    static Optional<Path> h2File(String url) {
        if (!url.startsWith("jdbc:h2:") || url.startsWith("jdbc:h2:mem:") || url.startsWith("jdbc:h2:tcp:")
                || url.startsWith("jdbc:h2:ssl:")) {
            return Optional.empty();
        }
        String rest = url.substring("jdbc:h2:".length());
        if (rest.startsWith("file:")) {
            rest = rest.substring("file:".length());
        }
        int options = rest.indexOf(';');
        String file = options < 0 ? rest : rest.substring(0, options);
        if (file.startsWith("~")) {
            file = System.getProperty("user.home") + file.substring(1);
        }
        return file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file));
    }

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
