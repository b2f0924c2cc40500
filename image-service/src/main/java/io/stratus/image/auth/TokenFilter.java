package io.stratus.image.auth;

import io.stratus.api.ApiException;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.regex.Pattern;

/** Every call but version discovery, health and metrics carries a valid token in {@code X-Auth-Token}. */
@Provider
@PreMatching
public class TokenFilter implements ContainerRequestFilter {
    private static final String CALLER = "stratus.caller";
    private static final Pattern PUBLIC = Pattern.compile("/?(|image/?|image/versions/?|q/.*|metrics)");

    /** Looked up per request: JAX-RS providers are built before the runtime configuration exists. */
    @Inject
    Instance<RemoteIdentity> identity;

    @Override
    public void filter(ContainerRequestContext request) {
        if (PUBLIC.matcher(request.getUriInfo().getPath()).matches()) {
            return;
        }
        Caller caller = identity.get().require(request.getHeaderString("X-Auth-Token"));
        request.setProperty(CALLER, caller);
    }

    public static Caller caller(ContainerRequestContext request) {
        Object c = request.getProperty(CALLER);
        if (!(c instanceof Caller)) {
            throw ApiException.unauthorized("The request you have made requires authentication.");
        }
        return (Caller) c;
    }
}
