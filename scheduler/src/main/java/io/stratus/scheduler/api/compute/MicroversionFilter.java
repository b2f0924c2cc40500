package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.ext.Provider;
import java.util.List;

/**
 * The microversion of each v2.1 request, read as Nova reads it (microversion_parse): {@code
 * OpenStack-API-Version: compute X.Y} first, else the legacy {@code X-OpenStack-Nova-API-Version:
 * X.Y}; {@code latest} is the newest served; none is 2.1. A malformed version is a 400, one out
 * of range a 406. Every v2.1 response names the version it was served at in both headers and
 * varies on them. Nova's v2.0 ({@code /compute/v2/}) ignores the headers and answers none, as do
 * the unversioned discovery document and calls the token filter refused.
 */
@Provider
@PreMatching
// After the token filter: a call without a valid token is a 401 whatever version it asks for.
@Priority(Priorities.USER + 100)
public class MicroversionFilter implements ContainerRequestFilter, ContainerResponseFilter {
    static final String HEADER = "OpenStack-API-Version";
    static final String LEGACY_HEADER = "X-OpenStack-Nova-API-Version";

    @Override
    public void filter(ContainerRequestContext request) {
        if (ComputeVersions.LegacyPath.isLegacy(request) || !versioned(request.getUriInfo().getPath())) {
            return;
        }
        String asked = requested(request.getHeaders());
        Microversion version;
        if (asked == null) {
            version = Microversion.MIN;
        } else if (asked.equals("latest")) {
            version = Microversion.MAX;
        } else {
            try {
                version = Microversion.parse(asked);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest(e.getMessage());
            }
            if (!version.servable()) {
                throw new ApiException(406, "Version " + asked + " is not supported by the API. Minimum is "
                        + Microversion.MIN + " and maximum is " + Microversion.MAX + ".");
            }
        }
        version.attachTo(request);
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        // Only requests whose version was read: v2.1's, with a valid token and a valid version.
        if (!Microversion.attached(request)) {
            return;
        }
        Microversion v = Microversion.of(request);
        response.getHeaders().putSingle(HEADER, "compute " + v);
        response.getHeaders().putSingle(LEGACY_HEADER, v.toString());
        response.getHeaders().add("Vary", HEADER + ", " + LEGACY_HEADER);
    }

    /** The v2.1 API and everything under it; not the unversioned discovery document. */
    private static boolean versioned(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        return p.equals("compute/v2.1") || p.startsWith("compute/v2.1/");
    }

    /** What the headers ask for, or null: the standard header's compute entry, else the legacy header's last value. */
    static String requested(MultivaluedMap<String, String> headers) {
        String standard = folded(headers.get(HEADER));
        if (standard != null) {
            String[] entries = standard.split(",", -1);
            for (int i = entries.length - 1; i >= 0; i--) {
                String[] serviceAndVersion = entries[i].strip().split("\\s+", 2);
                if (serviceAndVersion.length == 2 && serviceAndVersion[0].equalsIgnoreCase("compute")) {
                    return serviceAndVersion[1].strip();
                }
            }
        }
        String legacy = folded(headers.get(LEGACY_HEADER));
        if (legacy != null) {
            String[] values = legacy.split(",", -1);
            return values[values.length - 1].strip();
        }
        return null;
    }

    /** Repeated headers are one comma-separated list. */
    private static String folded(List<String> values) {
        return values == null || values.isEmpty() ? null : String.join(",", values);
    }
}
