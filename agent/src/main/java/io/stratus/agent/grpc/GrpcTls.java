package io.stratus.agent.grpc;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.stratus.agent.config.AgentConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * This host's TLS identity for gRPC: its certificate and key, and the CA its peers' certificates
 * must chain to. Netty reads the PEM files itself (the JDK's TLS does the handshake).
 */
public record GrpcTls(Path certificate, Path key, Path ca) {
    /**
     * The identity the settings name; empty when none of the three is set.
     *
     * @throws IllegalArgumentException only some are set, or a file is missing: a half-configured
     *         host must not fall back to plain text
     */
    public static Optional<GrpcTls> from(AgentConfig.Tls settings) {
        if (settings.certificate().isEmpty() && settings.key().isEmpty() && settings.ca().isEmpty()) {
            return Optional.empty();
        }
        if (settings.certificate().isEmpty() || settings.key().isEmpty() || settings.ca().isEmpty()) {
            throw new IllegalArgumentException("stratus.agent.tls needs certificate, key and ca together");
        }
        GrpcTls tls = new GrpcTls(settings.certificate().get(), settings.key().get(), settings.ca().get());
        for (Path p : new Path[] {tls.certificate, tls.key, tls.ca}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("stratus.agent.tls: " + p + " cannot be read");
            }
        }
        return Optional.of(tls);
    }

    /** The server's side: this host's certificate, and a client certificate from the CA required. */
    public SslContext server() {
        try {
            return GrpcSslContexts.forServer(certificate.toFile(), key.toFile()).trustManager(ca.toFile())
                    .clientAuth(ClientAuth.REQUIRE).build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("the gRPC server's TLS cannot be set up from " + certificate + ", "
                    + key + " and " + ca + ": " + e.getMessage(), e);
        }
    }

    /** The client's side: this host's certificate presented, the server's checked against the CA. */
    public SslContext client() {
        try {
            return GrpcSslContexts.forClient().keyManager(certificate.toFile(), key.toFile()).trustManager(ca.toFile())
                    .build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("gRPC client TLS cannot be set up from " + certificate + ", " + key
                    + " and " + ca + ": " + e.getMessage(), e);
        }
    }
}
