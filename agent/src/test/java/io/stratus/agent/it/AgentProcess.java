package io.stratus.agent.it;

import io.stratus.kafka.client.KafkaClientSettings;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.stratus.local.pki.IssuedIdentity;
import io.stratus.kvm.testing.ProcessesUnder;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.StreamConsoleRequest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * The agent as its own process, started from the built application (target/quarkus-app), so that
 * tests can stop it gracefully (SIGTERM) or kill it (SIGKILL) and start it again on the same data.
 */
final class AgentProcess implements AutoCloseable {
    private static final Path APP = Path.of("target", "quarkus-app", "quarkus-run.jar");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String host;
    private final Path dataDir;
    private final Path imagesDir;
    private final KafkaClientSettings bus;
    private final int port;
    private final int grpcPort;
    /** The CA of its bus identity, which is its gRPC identity too. */
    private final TestPki pki;
    private final Map<String, String> extra;
    private Process process;
    private ManagedChannel channel;
    private int starts;

    /** @param bus the agent's own bus identity ({@code LocalBus.agent(host)}) */
    AgentProcess(String host, Path dataDir, Path imagesDir, KafkaClientSettings bus, Map<String, String> extra) {
        this.host = host;
        this.dataDir = dataDir;
        this.imagesDir = imagesDir;
        this.bus = bus;
        this.port = freePort();
        this.grpcPort = freePort();
        this.extra = extra;
        this.pki = TestPki.of(bus);
    }

    /** Starts the agent and waits until it is ready (recovered and consuming). */
    AgentProcess start() throws IOException, InterruptedException {
        if (!Files.isRegularFile(APP)) {
            throw new IllegalStateException(APP.toAbsolutePath() + " is missing: run the tests with `mvn verify`");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dstratus.agent.host=" + host, "-Dstratus.agent.data-dir=" + dataDir,
                "-Dstratus.agent.images-dir=" + imagesDir, "-Dquarkus.http.port=" + port,
                "-Dstratus.agent.grpc-address=127.0.0.1:" + grpcPort));
        // Its bus identity is its gRPC identity too (application.properties takes kafka.tls.* for both).
        bus.serviceConfig().forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        extra.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(APP.toString());
        starts++;
        Path log = logFile();
        Files.createDirectories(log.getParent());
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("agent exited with " + process.exitValue() + ":\n" + tail(log));
            }
            if (ready()) {
                return this;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("agent not ready within 90 s:\n" + tail(log));
    }

    private boolean ready() {
        try {
            return get("/q/health/ready").statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Prometheus text of /metrics. */
    String metrics() throws IOException, InterruptedException {
        return get("/metrics").body();
    }

    /** A channel to its gRPC server as the control plane calls it (the tests' scheduler certificate). */
    ManagedChannel channel() {
        if (channel == null) {
            channel = channelAs(pki.controlPlane());
        }
        return channel;
    }

    /** A channel to its gRPC server with {@code caller}'s certificate, trusting the tests' CA; close it. */
    ManagedChannel channelAs(IssuedIdentity caller) {
        try {
            return NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).overrideAuthority(host)
                    .sslContext(GrpcSslContexts.forClient().keyManager(caller.certificateChain().toFile(),
                            caller.privateKey().toFile()).trustManager(pki.caCertificate().toFile())
                            .build()).build();
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A channel to its gRPC server with TLS set up by {@code tls}. */
    ManagedChannel channelWith(SslContext tls) {
        return NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).overrideAuthority(host).sslContext(tls).build();
    }

    TestPki pki() {
        return pki;
    }

    int grpcPort() {
        return grpcPort;
    }

    /** A plain-text channel to its gRPC server. */
    ManagedChannel plainChannel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    }

    /** SIGTERM and wait: the agent saves its guests. */
    /** The last MiB of instance {@code id}'s console, through the agent's console stream. */
    String console(String id) {
        StringBuilder text = new StringBuilder();
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            ctx.run(() -> {
                Iterator<ConsoleChunk> chunks = AgentServiceGrpc.newBlockingStub(channel())
                        .streamConsole(StreamConsoleRequest.newBuilder().setInstanceId(id).setTailBytes(1 << 20)
                                .build());
                text.append(chunks.next().getData().toString(StandardCharsets.ISO_8859_1));
            });
        }
        return text.toString();
    }

    /** Waits until instance {@code id}'s console matches {@code pattern}, and returns it. */
    String awaitConsole(String id, Pattern pattern, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String text = console(id);
            if (pattern.matcher(text).find()) {
                return text;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("console of " + id + " never matched " + pattern + ":\n" + text);
            }
            Thread.sleep(250);
        }
    }

    int stop() throws InterruptedException {
        closeChannel();
        process.destroy();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("agent did not stop within 120 s of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGKILL: the agent and its guests end at once. */
    void kill() throws InterruptedException {
        closeChannel();
        process.destroyForcibly().waitFor();
    }

    long pid() {
        return process.pid();
    }

    String log() throws IOException {
        return tail(logFile());
    }

    /** Logs stay in target/agent-logs after the test's directories are gone. */
    private Path logFile() {
        return Path.of("target", "agent-logs", host + "-" + ProcessHandle.current().pid() + "-" + starts + ".log");
    }

    private void closeChannel() {
        if (channel != null) {
            channel.shutdownNow();
            channel = null;
        }
    }

    /** Ends the agent and the guests it left running (the qemu driver's outlive it). */
    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            kill();
        }
        ProcessesUnder.kill(dataDir);
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no log)";
        }
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
