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
 * 3.0 to {@value #MAX} are taken ({@code latest} is {@value #MAX}); the answer names the version
 * back (clients check it), a malformed one is a 400 and one out of range a 406, as Cinder answers.
 * What changes by version is the attachments API ({@link AttachmentsResource}: 3.27, and
 * {@code os-complete} 3.44); the other resources answer their 3.0 behaviour at every version.
 */
@Provider
@PreMatching
@Priority(Priorities.USER + 100)
public class VolumeMicroversion implements ContainerRequestFilter, ContainerResponseFilter {
    static final String HEADER = "OpenStack-API-Version";
    static final String MIN = "3.0";
    static final String MAX = "3.44";
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
        String served = MIN;
        if (m != null && m.find()) {
            String asked = m.group(1);
            if (asked.equals("latest")) {
                served = MAX;
            } else {
                Matcher v = VERSION.matcher(asked);
                if (!v.matches()) {
                    throw ApiException.badRequest("Invalid API version request: " + asked);
                }
                int major = Integer.parseInt(v.group(1));
                int minor = Integer.parseInt(v.group(2));
                if (major != 3 || minor > minor(MAX)) {
                    throw new ApiException(406, "Version " + asked + " is not supported by the API. Minimum is "
                            + MIN + " and maximum is " + MAX + ".");
                }
                served = "3." + minor;
            }
        }
        request.setProperty(ATTACHED, served);
    }

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        if (request.getProperty(ATTACHED) != null) {
            response.getHeaders().putSingle(HEADER, "volume " + request.getProperty(ATTACHED));
            response.getHeaders().add("Vary", HEADER);
        }
    }

    /** The version the request is served at. */
    static String negotiated(ContainerRequestContext request) {
        Object v = request.getProperty(ATTACHED);
        return v == null ? MIN : v.toString();
    }

    /** The minor number of a 3.x version. */
    static int minor(String version) {
        return Integer.parseInt(version.substring(version.indexOf('.') + 1));
    }
}
