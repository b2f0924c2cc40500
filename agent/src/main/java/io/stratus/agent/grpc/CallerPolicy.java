package io.stratus.agent.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Optional;
import java.util.Set;

/**
 * Which verified callers may do what on this agent: the control plane reads consoles and lists
 * instances (the API's policy decided that the user may), a peer agent only sends a guest it
 * moves, as the host its certificate names. Without TLS there are no verified callers and no
 * checks: that setting is for one host on loopback only.
 */
public record CallerPolicy(boolean tls, Set<String> controlPlane) {
    /**
     * @param caller the call's verified caller ({@link CallerInterceptor#current})
     * @throws StatusRuntimeException PERMISSION_DENIED: the caller is not the control plane
     */
    public void requireControlPlane(Optional<Caller> caller, String what) {
        if (!tls) {
            return;
        }
        if (caller.isEmpty() || !controlPlane.contains(caller.get().principal())) {
            throw denied(caller, what + " is for the control plane " + controlPlane);
        }
    }

    /**
     * @throws StatusRuntimeException PERMISSION_DENIED: the caller's certificate does not name {@code host}
     */
    public void requireHost(Optional<Caller> caller, String host, String what) {
        if (!tls) {
            return;
        }
        if (caller.isEmpty() || !caller.get().names(host)) {
            throw denied(caller, what + " is for host " + host);
        }
    }

    private static StatusRuntimeException denied(Optional<Caller> caller, String why) {
        return Status.PERMISSION_DENIED.withDescription(caller.map(c -> "caller " + c.principal())
                .orElse("an unidentified caller") + " refused: " + why).asRuntimeException();
    }
}
