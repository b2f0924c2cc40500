package io.stratus.agent.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.util.Optional;

/**
 * Channels from this agent to a peer's gRPC server. With TLS, this host's certificate goes with
 * every call and the peer's must name the host the call is meant for: the channel's authority is
 * that host, whatever address it dials, so a listener at a wrong address fails the handshake.
 */
public final class PeerChannels {
    private final Optional<SslContext> tls;

    private PeerChannels(Optional<SslContext> tls) {
        this.tls = tls;
    }

    public static PeerChannels of(Optional<GrpcTls> tls) {
        return new PeerChannels(tls.map(GrpcTls::client));
    }

    /** Plain text: for one host on loopback, and tests. */
    public static PeerChannels plainText() {
        return new PeerChannels(Optional.empty());
    }

    /** A channel to {@code host}'s server at {@code address} ({@code host:port}). */
    public ManagedChannel open(String address, String host, int maxInboundMessageSize) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(address).maxInboundMessageSize(maxInboundMessageSize);
        if (tls.isEmpty()) {
            return b.usePlaintext().build();
        }
        return b.sslContext(tls.get()).overrideAuthority(host).build();
    }
}
