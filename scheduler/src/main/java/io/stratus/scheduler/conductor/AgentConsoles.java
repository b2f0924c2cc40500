package io.stratus.scheduler.conductor;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleOutputRequest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Reads guests' console output from their agents over gRPC, one channel per agent address. */
public final class AgentConsoles implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /**
     * The last {@code maxBytes} of an instance's console, as text.
     *
     * @throws StatusRuntimeException the agent is unreachable or does not know the instance
     */
    public String tail(String address, String instanceId, int maxBytes) {
        ManagedChannel channel = channels.computeIfAbsent(address,
                a -> ManagedChannelBuilder.forTarget(a).usePlaintext().build());
        ConsoleChunk chunk = AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getConsoleOutput(ConsoleOutputRequest.newBuilder().setInstanceId(instanceId).setTailBytes(maxBytes)
                        .build());
        return chunk.getData().toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
    }
}
