package io.stratus.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private PostgreSQL cluster from Debian's {@code postgresql} package, on loopback and a port of
 * its own, with its data in a temporary directory: for tests and benchmarks on a machine with no
 * database server running. Run as root, the server runs as the package's {@code postgres} user
 * (PostgreSQL refuses root). Authentication is {@code trust} on 127.0.0.1 only. Closing it stops
 * the server and deletes its data.
 */
public final class LocalPostgres implements AutoCloseable {
    /** The superuser of the cluster; tests and benchmarks connect as it. */
    public static final String USER = "stratus";

    private final Path binaries;
    private final Path dir;
    private final int port;
    private final boolean asPostgres;
    /** Stops the server if the JVM exits without {@link #close()} (System.exit, SIGTERM). */
    private final Thread onExit;

    private LocalPostgres(Path binaries, Path dir, int port, boolean asPostgres) {
        this.binaries = binaries;
        this.dir = dir;
        this.port = port;
        this.asPostgres = asPostgres;
        this.onExit = new Thread(this::stopQuietly, "stratus-postgres-stop");
        Runtime.getRuntime().addShutdownHook(onExit);
    }

    private void stopQuietly() {
        try {
            stop();
        } catch (IOException | RuntimeException e) {
            System.err.println("stratus: could not stop PostgreSQL in " + dir + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Initialises and starts a cluster.
     *
     * @throws IllegalStateException PostgreSQL is not installed, or it would not start
     */
    public static LocalPostgres start() throws IOException, InterruptedException {
        Path binaries = binaries();
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("stratus-pg-");
        if (root) {
            run(List.of("chown", "postgres", dir.toString()), Duration.ofSeconds(10));
        }
        int port = QuarkusProcess.freePort();
        LocalPostgres pg = new LocalPostgres(binaries, dir, port, root);
        try {
            pg.as(binaries.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", USER,
                    "--auth=trust", "-E", "UTF8", "--no-sync");
            pg.startServer();
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    private void startServer() throws IOException, InterruptedException {
        as(binaries.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-w", "-t", "60",
                "-l", dir.resolve("server.log").toString(), "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                        + " -c max_connections=200", "start");
    }

    /** Stops the server (fast shutdown: connections are cut), keeping the cluster, as an outage does. */
    public void suspend() throws IOException, InterruptedException {
        as(binaries.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop");
    }

    /** Starts the server again after {@link #suspend()}, on the same port and data. */
    public void resume() throws IOException, InterruptedException {
        startServer();
    }

    /** The newest installed PostgreSQL's programs ({@code /usr/lib/postgresql/N/bin}). */
    private static Path binaries() throws IOException {
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> versions = Files.list(lib)) {
                Path newest = versions.filter(v -> Files.isExecutable(v.resolve("bin/initdb")))
                        .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString()
                                .replaceAll("[^0-9]", "0")))).orElse(null);
                if (newest != null) {
                    return newest.resolve("bin");
                }
            }
        }
        throw new IllegalStateException("PostgreSQL is not installed: apt-get install postgresql (bin/stratus test"
                + " installs it)");
    }

    /** A database of its own on this cluster; returns its JDBC URL. */
    public String createDatabase(String name) throws IOException, InterruptedException {
        if (!name.matches("[a-z][a-z0-9_]{0,62}")) {
            throw new IllegalArgumentException("database names here are lower-case identifiers, not " + name);
        }
        as(binaries.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", USER, name);
        return jdbcUrl(name);
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + USER;
    }

    public int port() {
        return port;
    }

    /** Where the cluster keeps its data; gone after {@link #close()}. */
    public Path directory() {
        return dir;
    }

    private void as(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asPostgres) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(command));
        run(cmd, Duration.ofSeconds(90));
    }

    private static void run(List<String> cmd, Duration limit) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + limit);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): "
                    + new String(out).strip());
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // The JVM is exiting: the hook runs (or ran) stop itself.
        }
        stop();
    }

    private synchronized void stop() throws IOException, InterruptedException {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            if (Files.exists(dir.resolve("data/postmaster.pid"))) {
                as(binaries.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w",
                        "stop");
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
