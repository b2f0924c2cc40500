package io.stratus.scheduler.conductor;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.grpc.stub.StreamObserver;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleInput;
import io.stratus.proto.v1.ConsoleOutputRequest;
import io.stratus.proto.v1.DescribeRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Reads guests' console output from their agents over gRPC, one channel per agent. With mutual
 * TLS the scheduler presents its certificate (the agents serve consoles to the control plane only)
 * and takes only an agent certificate that names the host it means to reach.
 */
public final class AgentConsoles implements AutoCloseable {
    private final Optional<SslContext> tls;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    private AgentConsoles(Optional<SslContext> tls) {
        this.tls = tls;
    }

    /** For agents that serve plain text (one host on loopback). */
    public static AgentConsoles plainText() {
        return new AgentConsoles(Optional.empty());
    }

    /**
     * @param certificate the scheduler's certificate (PEM, leaf first)
     * @param key its private key (PKCS#8 PEM)
     * @param ca the CA the agents' certificates chain to
     */
    public static AgentConsoles mutualTls(Path certificate, Path key, Path ca) {
        try {
            return new AgentConsoles(Optional.of(GrpcSslContexts.forClient().keyManager(certificate.toFile(),
                    key.toFile()).trustManager(ca.toFile()).build()));
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the agents' gRPC cannot be reached with TLS from " + certificate + ", "
                    + key + " and " + ca + ": " + e.getMessage(), e);
        }
    }

    /**
     * The last {@code maxBytes} of an instance's console, as text.
     *
     * @param host the instance's host, which the agent's certificate must name
     * @param address the agent's gRPC address, as its host report gives it
     * @throws StatusRuntimeException the agent is unreachable, is not {@code host}, or does not know the instance
     */
    public String tail(String host, String address, String instanceId, int maxBytes) {
        ManagedChannel channel = channels.computeIfAbsent(host + "@" + address, k -> open(host, address));
        ConsoleChunk chunk = AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getConsoleOutput(ConsoleOutputRequest.newBuilder().setInstanceId(instanceId).setTailBytes(maxBytes)
                        .build());
        return chunk.getData().toString(StandardCharsets.UTF_8);
    }

    /**
     * Attaches to an instance's interactive console: {@code output} gets the last {@code tailBytes}
     * of output, then live output, until either side ends; what the returned observer is given is
     * typed into the guest. The first message, naming the instance, is sent here.
     *
     * @param host the instance's host, which the agent's certificate must name
     * @param address the agent's gRPC address, as its host report gives it
     */
    public StreamObserver<ConsoleInput> attach(String host, String address, String instanceId, int tailBytes,
                                               StreamObserver<ConsoleChunk> output) {
        ManagedChannel channel = channels.computeIfAbsent(host + "@" + address, k -> open(host, address));
        StreamObserver<ConsoleInput> input = AgentServiceGrpc.newStub(channel).attachConsole(output);
        input.onNext(ConsoleInput.newBuilder().setInstanceId(instanceId).setTailBytes(tailBytes).build());
        return input;
    }

    /**
     * Whether {@code host}'s agent answers {@code Describe} within 5 s: what tells a host whose
     * reports stopped but which still runs from one that failed ({@link HostFailures}).
     */
    public boolean answers(String host, String address) {
        ManagedChannel channel = channels.computeIfAbsent(host + "@" + address, k -> open(host, address));
        try {
            AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .describe(DescribeRequest.getDefaultInstance());
            return true;
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    private ManagedChannel open(String host, String address) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(address);
        return tls.isEmpty() ? b.usePlaintext().build() : b.sslContext(tls.get()).overrideAuthority(host).build();
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
    }
}
