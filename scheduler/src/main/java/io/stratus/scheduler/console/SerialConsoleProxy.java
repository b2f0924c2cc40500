package io.stratus.scheduler.console;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleInput;
import io.stratus.proto.v1.HostReport;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.AgentConsoles;
import io.stratus.scheduler.hosts.HostDirectory;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * nova-serialproxy's role: a WebSocket at {@value #PATH}{@code ?token=…} that joins a client to a
 * guest's serial console. The one-time token (from {@code remote-consoles} or {@code
 * os-getSerialConsole}) is the only credential, as in Nova, since browsers cannot set headers on a
 * WebSocket; a request from another site's page (an {@code Origin} that is not this host) is
 * refused so that a page cannot ride a token it was not given. Frames from the client (binary or
 * text) are keystrokes; the guest's output comes back as binary frames.
 *
 * <p>A plain Vert.x route rather than a WebSockets extension: Quarkus' HTTP server is Vert.x, and
 * one upgrade handler needs nothing more.
 */
@ApplicationScoped
public class SerialConsoleProxy {
    public static final String PATH = "/serial-console";
    private static final Logger LOG = Logger.getLogger(SerialConsoleProxy.class);
    /** Past output sent on connecting, so that a new console shows the screen it joins. */
    private static final int TAIL_BYTES = 16 * 1024;

    @Inject
    ConsoleTokens tokens;
    @Inject
    ServerStore servers;
    @Inject
    HostDirectory hosts;
    @Inject
    AgentConsoles consoles;

    void routes(@Observes Router router) {
        router.get(PATH).handler(this::connect);
        router.get(PATH + "/").handler(this::connect);
    }

    private void connect(RoutingContext rc) {
        String origin = rc.request().getHeader("Origin");
        if (origin != null && !sameHost(origin, rc.request().authority() == null ? null
                : rc.request().authority().host())) {
            refuse(rc, 403, "a console is opened only from this cloud's own pages, not from " + origin);
            return;
        }
        var grant = tokens.redeem(rc.request().getParam("token"));
        if (grant.isEmpty()) {
            refuse(rc, 401, "the console token is unknown, used or expired: ask for a new console URL");
            return;
        }
        String id = grant.get().instanceId();
        Server s = servers.find(id).orElse(null);
        if (s == null || s.host().isEmpty()) {
            refuse(rc, 404, "instance " + id + " is gone or has no host");
            return;
        }
        String host = s.host().get();
        String address = hosts.report(host).map(HostReport::getGrpcAddress).orElse("");
        if (address.isEmpty()) {
            refuse(rc, 503, "host " + host + " has not published its agent's address; its consoles cannot be reached");
            return;
        }
        rc.request().toWebSocket().onSuccess(ws -> bridge(ws, host, address, id))
                .onFailure(e -> LOG.debugf("console of %s: the WebSocket upgrade failed: %s", id, e.getMessage()));
    }

    private static boolean sameHost(String origin, String host) {
        try {
            return host != null && host.equalsIgnoreCase(URI.create(origin).getHost());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static void refuse(RoutingContext rc, int status, String message) {
        rc.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(message);
    }

    private void bridge(ServerWebSocket ws, String host, String address, String id) {
        AtomicBoolean ended = new AtomicBoolean();
        StreamObserver<ConsoleChunk> fromGuest = new StreamObserver<>() {
            @Override
            public void onNext(ConsoleChunk chunk) {
                if (!chunk.getData().isEmpty()) {
                    ws.writeBinaryMessage(Buffer.buffer(chunk.getData().toByteArray()));
                }
            }

            @Override
            public void onError(Throwable t) {
                ended.set(true);
                Status status = Status.fromThrowable(t);
                String why = status.getDescription() != null ? status.getDescription() : status.getCode().toString();
                // A close reason holds at most 123 bytes.
                ws.close((short) 1011, why.length() > 100 ? why.substring(0, 100) : why);
            }

            @Override
            public void onCompleted() {
                ended.set(true);
                ws.close((short) 1000, "the console ended");
            }
        };
        StreamObserver<ConsoleInput> toGuest = consoles.attach(host, address, id, TAIL_BYTES, fromGuest);
        ws.binaryMessageHandler(b -> type(toGuest, ended, b.getBytes()));
        ws.textMessageHandler(t -> type(toGuest, ended, t.getBytes(StandardCharsets.UTF_8)));
        ws.closeHandler(v -> {
            if (ended.compareAndSet(false, true)) {
                toGuest.onCompleted();
            }
        });
    }

    /** Called on the WebSocket's event loop only, so input messages keep their order. */
    private static void type(StreamObserver<ConsoleInput> toGuest, AtomicBoolean ended, byte[] bytes) {
        if (!ended.get() && bytes.length > 0) {
            toGuest.onNext(ConsoleInput.newBuilder().setData(ByteString.copyFrom(bytes)).build());
        }
    }
}
