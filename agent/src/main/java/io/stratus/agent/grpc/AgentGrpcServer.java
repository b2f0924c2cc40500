package io.stratus.agent.grpc;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The agent's gRPC server, on a port of its own at the address the agent publishes: with TLS, a
 * caller without a client certificate from the cloud's CA does not get past the handshake, and
 * every call carries its verified {@link Caller}. It is grpc-java's Netty server rather than the
 * gRPC Quarkus serves on its HTTP port, so that health and Prometheus' {@code /metrics} stay plain
 * HTTP there (on the host's address, for the scrapers) while gRPC alone is mutual TLS, and so that
 * the caller's certificate is read where grpc-java documents it ({@code TRANSPORT_ATTR_SSL_SESSION}).
 */
public final class AgentGrpcServer implements AutoCloseable {
    /** As grpc-java's default, and what a migration chunk stays under. */
    private static final int MAX_MESSAGE = 4 << 20;

    private final Server server;

    private AgentGrpcServer(Server server) {
        this.server = server;
    }

    /**
     * Listens on {@code address}.
     *
     * @throws IOException the address cannot be bound
     */
    public static AgentGrpcServer start(InetSocketAddress address, Optional<GrpcTls> tls,
                                        List<BindableService> services) throws IOException {
        NettyServerBuilder b = NettyServerBuilder.forAddress(address).maxInboundMessageSize(MAX_MESSAGE);
        tls.ifPresent(t -> b.sslContext(t.server()));
        CallerInterceptor callers = new CallerInterceptor();
        for (BindableService s : services) {
            b.addService(ServerInterceptors.intercept(s, callers));
        }
        return new AgentGrpcServer(b.build().start());
    }

    /** {@code host:port}, as the setting and host reports write it. */
    public static InetSocketAddress parse(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not host:port: " + address);
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(host, Integer.parseInt(address.substring(colon + 1)));
    }

    /** The port it listens on. */
    public int port() {
        return server.getPort();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdown();
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
            server.shutdownNow();
        }
    }
}
