package io.stratus.bench;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
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
 * A Stratus agent on this machine as its own process, started from the built application
 * ({@code agent/target/quarkus-app/quarkus-run.jar}) the way a host runs it, for the demo and the
 * agent benchmark. Closing it kills the process (and the guests in it).
 */
public final class LocalAgent implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;
    private final ManagedChannel channel;

    private LocalAgent(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    /**
     * Starts the agent for {@code host} and waits until it is ready (its command loop polls).
     *
     * @param settings further {@code -D} settings (capacity, intervals)
     * @param log where its output goes
     */
    public static LocalAgent start(Path app, String host, Path dataDir, Path imagesDir, String bootstrapServers,
                                   Map<String, String> settings, Path log, Duration limit) throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dstratus.agent.host=" + host, "-Dstratus.agent.data-dir=" + dataDir,
                "-Dstratus.agent.images-dir=" + imagesDir, "-Dkafka.bootstrap.servers=" + bootstrapServers,
                "-Dquarkus.http.port=" + port));
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(app.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LocalAgent agent = new LocalAgent(p, port, log);
        try {
            agent.awaitReady(limit);
        } catch (Exception e) {
            agent.close();
            throw e;
        }
        return agent;
    }

    private void awaitReady(Duration limit) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the agent exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready"))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agent was not ready within " + limit + "; see " + log);
    }

    /** A gRPC channel to its AgentService. */
    public ManagedChannel channel() {
        return channel;
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        process.destroyForcibly().waitFor();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
