package io.stratus.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A built Quarkus service of this project ({@code quarkus-run.jar}) run as its own process on
 * loopback, the way a host runs it: started with {@code -D} settings, ready when its readiness
 * check answers. Closing it stops it: SIGTERM first (the agent saves its guests then), a kill
 * after {@code grace}.
 */
public final class QuarkusProcess implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;
    private final Duration grace;
    private final String host;

    private QuarkusProcess(Process process, int port, Path log, Duration grace, String host) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.grace = grace;
        this.host = host;
    }

    /**
     * Starts {@code app} on {@code port} (0: a free one) and waits until it is ready.
     *
     * @param settings {@code -D} settings; {@code quarkus.http.port} is set from {@code port}
     * @param log where its output goes
     */
    public static QuarkusProcess start(Path app, int port, Map<String, String> settings, Path log, Duration limit,
                                       Duration grace) throws Exception {
        return start(app, port, settings, Map.of(), log, limit, grace);
    }

    /**
     * Like {@link #start(Path, int, Map, Path, Duration, Duration)}, with {@code environment}
     * added to the process's: secrets go there, never on a command line others can read.
     */
    public static QuarkusProcess start(Path app, int port, Map<String, String> settings, Map<String, String> environment,
                                       Path log, Duration limit, Duration grace) throws Exception {
        return start(app, port, settings, environment, log, limit, grace, null);
    }

    /**
     * Like {@link #start(Path, int, Map, Map, Path, Duration, Duration)}, run inside network
     * namespace {@code ns} (a simulated host of its own); readiness is checked at its address.
     */
    public static QuarkusProcess startIn(HostNetwork.Namespace ns, Path app, int port, Map<String, String> settings,
                                         Map<String, String> environment, Path log, Duration limit, Duration grace)
            throws Exception {
        return start(app, port, settings, environment, log, limit, grace, ns);
    }

    private static QuarkusProcess start(Path app, int port, Map<String, String> settings,
                                        Map<String, String> environment, Path log, Duration limit, Duration grace,
                                        HostNetwork.Namespace ns) throws Exception {
        int p = port == 0 ? freePort() : port;
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=" + p));
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(app.toString());
        ProcessBuilder builder = new ProcessBuilder(ns == null ? cmd : ns.wrap(cmd)).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        Process process = builder.start();
        // Readiness is asked where it listens: its namespace's address, or the address it binds.
        String bound = settings.getOrDefault("quarkus.http.host", "127.0.0.1");
        QuarkusProcess started = new QuarkusProcess(process, p, log, grace, ns != null ? ns.address()
                : bound.equals("0.0.0.0") ? "127.0.0.1" : bound);
        try {
            started.awaitReady(limit);
        } catch (Exception e) {
            started.kill();
            throw e;
        }
        return started;
    }

    private void awaitReady(Duration limit) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(app() + " exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + "/q/health/ready"))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(app() + " was not ready within " + limit + "; see " + log);
    }

    private String app() {
        return process.info().commandLine().map(c -> c.substring(c.lastIndexOf(' ') + 1)).orElse("the service");
    }

    /** The address it is reached at: loopback, or its namespace's address. */
    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Kills it at once (no SIGTERM): what a crash or a pulled plug looks like. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            kill();
        }
    }

    /** A port nothing listens on now, on loopback. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
