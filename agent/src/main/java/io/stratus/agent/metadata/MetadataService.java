package io.stratus.agent.metadata;

import io.stratus.agent.guest.ConfigDrives;
import io.stratus.proto.v1.HostNetworkState;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * This host's part in guests' metadata, as configured: with the control plane's metadata API, a
 * socket the networks' proxies forward to and config drives made from the API; without it,
 * neither (a boot that asks for a config drive fails, saying why).
 */
public final class MetadataService {
    private final Optional<ControlPlaneMetadata> controlPlane;
    private final Path socket;

    private MetadataService(Optional<ControlPlaneMetadata> controlPlane, Path socket) {
        this.controlPlane = controlPlane;
        this.socket = socket;
    }

    /**
     * From the agent's settings.
     *
     * @throws IllegalArgumentException a URL without a secret, a URL that is not one, or a socket
     *                                  path a UNIX socket cannot have
     */
    public static MetadataService of(Optional<String> url, Optional<String> secret, Path socket, Duration timeout) {
        if (url.isEmpty()) {
            return new MetadataService(Optional.empty(), socket);
        }
        if (secret.isEmpty() || secret.get().isEmpty()) {
            throw new IllegalArgumentException("stratus.agent.metadata.url is set, but"
                    + " stratus.agent.metadata.shared-secret (STRATUS_AGENT_METADATA_SHARED_SECRET) is not: the agent"
                    + " signs the instance ids it vouches for");
        }
        try {
            MetadataServer.checkSocketPath(socket);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        URI root;
        try {
            root = URI.create(url.get());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("stratus.agent.metadata.url " + url.get() + " is not a URL", e);
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
        return new MetadataService(Optional.of(new ControlPlaneMetadata(http, root, secret.get(), timeout)), socket);
    }

    public boolean enabled() {
        return controlPlane.isPresent();
    }

    /** The socket the networks' proxies forward to; empty: no proxies. */
    public Optional<Path> proxySocket() {
        return controlPlane.map(c -> socket);
    }

    /** How this host makes config drives. */
    public ConfigDrives configDrives(ConfigDriveIso iso) {
        return controlPlane.<ConfigDrives>map(c -> new MetadataConfigDrives(c, iso)).orElseGet(() ->
                ConfigDrives.unavailable("this host has no metadata API to make it from (stratus.agent.metadata.url)"));
    }

    /**
     * Serves the proxies' requests on the socket, finding ports in {@code state}; empty when this
     * host has no metadata API.
     *
     * @throws UncheckedIOException the socket cannot be served
     */
    public Optional<MetadataServer> serve(Vertx vertx, Supplier<HostNetworkState> state) {
        if (controlPlane.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(MetadataServer.start(vertx, socket, new MetadataRequests(state, controlPlane.get())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
