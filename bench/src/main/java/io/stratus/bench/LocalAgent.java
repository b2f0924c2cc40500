package io.stratus.bench;

import io.stratus.kafka.client.KafkaClientSettings;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.stratus.local.QuarkusProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Stratus agent on this machine as its own process, started from the built application
 * ({@code agent/target/quarkus-app/quarkus-run.jar}) the way a host runs it, for the demo and the
 * agent benchmark. Closing it stops the process (SIGTERM, then SIGKILL after a grace period) and
 * the guests it runs: under the qemu driver those are processes of their own, told to end with it.
 */
public final class LocalAgent implements AutoCloseable {
    /** Long enough for the agent to stop its guests, QEMU processes included. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(60);

    private final QuarkusProcess process;
    private final ManagedChannel channel;

    private LocalAgent(QuarkusProcess process, int grpcPort) {
        this.process = process;
        this.channel = ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    }

    /**
     * Starts the agent for {@code host} and waits until it is ready (its command loop polls).
     *
     * @param bus the agent's own bus identity ({@code LocalBus.agent(host)})
     * @param settings further {@code -D} settings (capacity, intervals)
     * @param log where its output goes
     */
    public static LocalAgent start(Path app, String host, Path dataDir, Path imagesDir, KafkaClientSettings bus,
                                   Map<String, String> settings, Path log, Duration limit) throws Exception {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("stratus.agent.host", host);
        all.put("stratus.agent.data-dir", dataDir.toString());
        all.put("stratus.agent.images-dir", imagesDir.toString());
        all.putAll(bus.serviceConfig());
        all.put("stratus.agent.qemu.keep-guests-on-stop", "false");
        // gRPC on a port of its own, plain text: the demo's and the benchmark's agent is on loopback.
        int grpcPort = QuarkusProcess.freePort();
        all.put("stratus.agent.grpc-address", "127.0.0.1:" + grpcPort);
        all.putAll(settings);
        return new LocalAgent(QuarkusProcess.start(app, 0, all, log, limit, STOP_GRACE), grpcPort);
    }

    /** A gRPC channel to its AgentService. */
    public ManagedChannel channel() {
        return channel;
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return process.log();
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        process.close();
    }
}
