package io.stratus.image.auth;

import io.stratus.api.ApiException;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every call but version discovery, health and metrics carries a valid token, scoped to a project,
 * in {@code X-Auth-Token}; only {@code member} and {@code admin} may change anything.
 */
@Provider
@PreMatching
public class TokenFilter implements ContainerRequestFilter {
    private static final String CALLER = "stratus.caller";
    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");
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
        if (!caller.mayChange() && !READS.contains(request.getMethod())) {
            throw ApiException.forbidden("Policy doesn't allow " + request.getMethod() + " here: the token's roles "
                    + caller.roles() + " may read and not change anything; changes need the member role.");
        }
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
