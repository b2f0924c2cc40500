package io.stratus.scheduler.api.volume;

import io.stratus.api.ApiException;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cinder's microversion header on {@code /volume/v3}: {@code OpenStack-API-Version: volume X.Y}.
 * Only 3.0 is served (the base behaviour), so a request for it or for {@code latest} is answered
 * at 3.0 with the header named back (clients check it), a malformed one is a 400 and any other a
 * 406, as Cinder answers a version out of its range.
 */
@Provider
@PreMatching
@Priority(Priorities.USER + 100)
public class VolumeMicroversion implements ContainerRequestFilter, ContainerResponseFilter {
    static final String HEADER = "OpenStack-API-Version";
    static final String SERVED = "3.0";
    private static final Pattern VOLUME = Pattern.compile("(?:^|,)\\s*volume\\s+([^,\\s]+)\\s*(?:,|$)");
    private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)");
    private static final String ATTACHED = "stratus.volume.version";

    @Override
    public void filter(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (!p.startsWith("volume/v3")) {
            return;
        }
        String header = request.getHeaderString(HEADER);
        Matcher m = header == null ? null : VOLUME.matcher(header);
        if (m != null && m.find()) {
            String asked = m.group(1);
            if (!asked.equals("latest")) {
                Matcher v = VERSION.matcher(asked);
                if (!v.matches()) {
                    throw ApiException.badRequest("Invalid API version request: " + asked);
                }
                if (!asked.equals(SERVED) && !(v.group(1).equals("3") && Integer.parseInt(v.group(2)) == 0)) {
                    throw new ApiException(406, "Version " + asked + " is not supported by the API. Minimum is "
                            + SERVED + " and maximum is " + SERVED + ".");
                }
            }
        }
        request.setProperty(ATTACHED, SERVED);
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        if (request.getProperty(ATTACHED) != null) {
            response.getHeaders().putSingle(HEADER, "volume " + SERVED);
            response.getHeaders().add("Vary", HEADER);
        }
    }
}
