package io.stratus.agent.metadata;

import io.stratus.agent.network.MetadataProxies;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * The agent's end of the metadata proxies: HTTP on a UNIX socket that every network's haproxy
 * forwards to (Neutron's metadata agent listens the same way). A socket, not a port: nothing but
 * the proxies (root, or haproxy's group) can reach it, and it needs no address in each DHCP
 * namespace. Vert.x serves it (a domain socket needs its native epoll transport); the answer,
 * which asks the control plane, is worked out off the event loop.
 */
public final class MetadataServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MetadataServer.class);
    /** sun_path holds 108 bytes with the closing NUL. */
    public static final int MAX_SOCKET_PATH = 107;

    private final HttpServer server;
    private final Path socket;

    private MetadataServer(HttpServer server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    /**
     * Listens on {@code socket} (a stale one from an earlier run is replaced), readable and
     * writable by the proxies only.
     *
     * @throws IOException the socket cannot be made: no native transport, a path too long, a
     *                     directory that cannot be written
     */
    public static MetadataServer start(Vertx vertx, Path socket, MetadataRequests requests) throws IOException {
        checkSocketPath(socket);
        if (!vertx.isNativeTransportEnabled()) {
            throw new IOException("Vert.x has no native transport, which UNIX sockets need (set"
                    + " quarkus.vertx.prefer-native-transport=true and ship netty-transport-native-epoll): "
                    + vertx.unavailableNativeTransportCause());
        }
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket);
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS));
        server.requestHandler(r -> handle(vertx, requests, r));
        try {
            server.listen(SocketAddress.domainSocketAddress(socket.toString())).toCompletionStage()
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            server.close();
            throw new IOException("cannot listen on " + socket + ": " + (e.getCause() == null ? e : e.getCause()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
            throw new IOException("interrupted listening on " + socket, e);
        }
        allowProxies(socket);
        LOG.infof("metadata: serving the metadata proxies on %s", socket);
        return new MetadataServer(server, socket);
    }

    /** A UNIX socket path the proxies can be given: short enough, and one word in haproxy's configuration. */
    public static void checkSocketPath(Path socket) throws IOException {
        String text = socket.toAbsolutePath().toString();
        if (text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IOException("the metadata socket path " + text + " is longer than " + MAX_SOCKET_PATH
                    + " bytes, which a UNIX socket cannot have");
        }
        if (!text.matches("[A-Za-z0-9_./+@-]+")) {
            throw new IOException("the metadata socket path " + text + " has characters other than letters, digits"
                    + " and _./+@-");
        }
    }

    /** Owner and haproxy's group (when haproxy runs as its own user) may connect; nobody else. */
    private static void allowProxies(Path socket) throws IOException {
        Optional<String> account = MetadataProxies.account();
        if (account.isPresent()) {
            Files.getFileAttributeView(socket, PosixFileAttributeView.class).setGroup(FileSystems.getDefault()
                    .getUserPrincipalLookupService().lookupPrincipalByGroupName(account.get()));
        }
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString(account.isPresent() ? "rw-rw----"
                : "rw-------"));
    }

    private static void handle(Vertx vertx, MetadataRequests requests, HttpServerRequest r) {
        String length = r.getHeader("Content-Length");
        if (length != null && !fits(length)) {
            reply(r, ControlPlaneMetadata.Answer.text(413, "Request Entity Too Large"), true);
            return;
        }
        Buffer body = Buffer.buffer();
        boolean[] tooLarge = {false};
        r.handler(chunk -> {
            if (tooLarge[0]) {
                return;
            }
            if (body.length() + chunk.length() > MetadataRequests.MAX_BODY) {
                // A body sent without a length (chunked) that outgrows the bound: refused at once.
                tooLarge[0] = true;
                reply(r, ControlPlaneMetadata.Answer.text(413, "Request Entity Too Large"), true);
            } else {
                body.appendBuffer(chunk);
            }
        });
        r.exceptionHandler(e -> LOG.debugf("metadata: request failed while read: %s", e.toString()));
        r.endHandler(v -> {
            if (tooLarge[0]) {
                return;
            }
            MetadataRequests.Request request = new MetadataRequests.Request(r.method().name(), r.path(),
                    single(r, "X-Neutron-Network-ID"), single(r, "X-Forwarded-For"), body.getBytes());
            vertx.<ControlPlaneMetadata.Answer>executeBlocking(() -> requests.answer(request), false)
                    .onComplete(result -> {
                        if (result.succeeded()) {
                            reply(r, result.result(), false);
                        } else {
                            LOG.errorf(result.cause(), "metadata: %s %s failed", request.method(), request.path());
                            reply(r, ControlPlaneMetadata.Answer.text(500, "Internal Server Error"), false);
                        }
                    });
        });
    }

    private static boolean fits(String contentLength) {
        try {
            return Long.parseLong(contentLength.trim()) <= MetadataRequests.MAX_BODY;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The header's one value; empty when it is missing or given more than once. */
    private static Optional<String> single(HttpServerRequest r, String name) {
        List<String> values = r.headers().getAll(name);
        return values.size() == 1 ? Optional.of(values.get(0)) : Optional.empty();
    }

    private static void reply(HttpServerRequest r, ControlPlaneMetadata.Answer a, boolean close) {
        if (r.response().ended() || r.response().closed()) {
            return;
        }
        r.response().setStatusCode(a.status()).putHeader("Content-Type", a.contentType());
        if (close) {
            r.response().putHeader("Connection", "close");
        }
        r.response().end(Buffer.buffer(a.body())).onComplete(done -> {
            if (close) {
                r.connection().close();
            }
        });
    }

    public Path socket() {
        return socket;
    }

    /** Stops listening and removes the socket; the proxies answer 503 until an agent listens again. */
    @Override
    public void close() {
        try {
            server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warnf("metadata: closing %s: %s", socket, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warnf("metadata: cannot remove %s: %s", socket, e.getMessage());
        }
    }
}
