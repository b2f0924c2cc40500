package io.stratus.agent.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the verified caller of each call in its gRPC context ({@link #current}), from the client
 * certificate of the call's TLS session. On a plain-text server there is none.
 */
public final class CallerInterceptor implements ServerInterceptor {
    private static final Context.Key<Caller> CALLER = Context.key("stratus-caller");

    /** The caller of the call this thread serves; empty on a plain-text server. */
    public static Optional<Caller> current() {
        return Optional.ofNullable(CALLER.get());
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                        ServerCallHandler<Q, A> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return next.startCall(call, headers);
        }
        Optional<Caller> caller = Optional.empty();
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length > 0 && chain[0] instanceof X509Certificate leaf) {
                caller = Caller.of(leaf);
            }
        } catch (SSLPeerUnverifiedException e) {
            // The server requires a client certificate: a session without one does not get here.
        }
        if (caller.isEmpty()) {
            call.close(io.grpc.Status.UNAUTHENTICATED.withDescription("the client certificate names no principal"),
                    new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return Contexts.interceptCall(Context.current().withValue(CALLER, caller.get()), call, headers, next);
    }
}
