package io.stratus.agent.metadata;

import io.stratus.agent.network.BoundPorts;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.PortBinding;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * A guest's metadata request, as the network's proxy handed it over, answered as Neutron's
 * metadata agent answers: the network the proxy names and the guest's address find the one port
 * bound here with that fixed IP, whose device is the instance and whose project the tenant; the
 * control plane is asked for that instance and nothing else. What the guest wrote in headers counts
 * for nothing (the proxy replaced them, and only the path and body are sent on), so a guest can
 * read only its own instance's metadata. No port: 404, and the control plane is not asked.
 */
public final class MetadataRequests {
    private static final Logger LOG = Logger.getLogger(MetadataRequests.class);
    /** The largest request body taken (a POST of the instance's password is 256 bytes in Nova). */
    public static final int MAX_BODY = 64 * 1024;

    private final Supplier<HostNetworkState> state;
    private final ControlPlaneMetadata controlPlane;

    /** @param state the host's network state as last applied: the ports bound here */
    public MetadataRequests(Supplier<HostNetworkState> state, ControlPlaneMetadata controlPlane) {
        this.state = state;
        this.controlPlane = controlPlane;
    }

    /**
     * One request.
     *
     * @param path         the request's path, as sent (not decoded), without the query
     * @param networkId    the proxy's {@code X-Neutron-Network-ID}
     * @param forwardedFor the proxy's {@code X-Forwarded-For}: the guest's address
     */
    public record Request(String method, String path, Optional<String> networkId, Optional<String> forwardedFor,
                          byte[] body) {
        public Request {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(networkId, "networkId");
            Objects.requireNonNull(forwardedFor, "forwardedFor");
            Objects.requireNonNull(body, "body");
        }
    }

    public ControlPlaneMetadata.Answer answer(Request r) {
        if (!r.method().equals("GET") && !r.method().equals("POST")) {
            return ControlPlaneMetadata.Answer.text(405, "Method Not Allowed");
        }
        if (r.body().length > MAX_BODY) {
            return ControlPlaneMetadata.Answer.text(413, "Request Entity Too Large");
        }
        if (r.networkId().isEmpty() || r.forwardedFor().isEmpty()) {
            // Not through a network's proxy, which always sets both.
            return ControlPlaneMetadata.Answer.text(400, "Bad Request");
        }
        String path = r.path().startsWith("/") ? r.path().substring(1) : r.path();
        if (!r.path().startsWith("/") || !ControlPlaneMetadata.isPath(path)) {
            return ControlPlaneMetadata.Answer.text(400, "Bad Request");
        }
        String network = r.networkId().get();
        String address = r.forwardedFor().get().trim();
        Optional<PortBinding> port = BoundPorts.byFixedIp(state.get(), network, address);
        if (port.isEmpty() || port.get().getDeviceId().isEmpty() || port.get().getProjectId().isEmpty()) {
            LOG.infof("metadata: %s %s from %s on network %s: no instance's port here has that address", r.method(),
                    r.path(), printable(address), printable(network));
            return ControlPlaneMetadata.Answer.text(404, "Not Found");
        }
        PortBinding p = port.get();
        try {
            ControlPlaneMetadata.Answer a = controlPlane.request(r.method(), path, r.body(),
                    new ControlPlaneMetadata.Caller(p.getDeviceId(), p.getProjectId(), Optional.of(address)));
            LOG.debugf("metadata: %s %s for instance %s (port %s): %d", r.method(), r.path(), p.getDeviceId(),
                    p.getPortId(), a.status());
            return a;
        } catch (ControlPlaneMetadata.UnavailableException e) {
            LOG.warnf("metadata: %s %s for instance %s: %s", r.method(), r.path(), p.getDeviceId(), e.getMessage());
            return ControlPlaneMetadata.Answer.text(502, "Bad Gateway");
        }
    }

    /** Guest-written text for a log line: bounded, without control characters. */
    private static String printable(String text) {
        String t = text.length() > 80 ? text.substring(0, 80) + "..." : text;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
