package io.stratus.scheduler.identity;

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
 * Every API call but version discovery and token creation carries a token in {@code X-Auth-Token};
 * the caller it stands for is attached to the request for the resources to read. Two rules hold
 * for every API but Identity (which has its own policies): the token must be scoped to a project,
 * and only a caller with {@code member} or {@code admin} may change anything ({@code reader}
 * reads, as in Keystone's default roles).
 */
@Provider
@PreMatching
public class TokenFilter implements ContainerRequestFilter {
    private static final String CALLER = "stratus.caller";
    /**
     * Version documents and health/metrics: clients read these before they have a token. The
     * metadata service takes no token either: the agents' proxies sign for the instance instead.
     */
    private static final Pattern PUBLIC = Pattern.compile(
            "/?(|identity/?|identity/v3/?|compute/?|compute/v2(\\.1)?/?|network/?|network/v2\\.0/?|image/?"
                    + "|image/versions/?|q/.*|metrics|metadata(/.*)?)");
    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");
    private static final Set<String> TOKEN_PATHS = Set.of("identity/v3/auth/tokens", "/identity/v3/auth/tokens");

    /** Looked up per request: JAX-RS providers are built before the runtime configuration exists. */
    @Inject
    Instance<IdentityStore> identity;

    @Override
    public void filter(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (PUBLIC.matcher(path).matches()
                || (TOKEN_PATHS.contains(path) && request.getMethod().equals("POST"))) {
            return;
        }
        String token = request.getHeaderString("X-Auth-Token");
        if (token == null || token.isBlank()) {
            throw ApiException.unauthorized("The request you have made requires authentication: send a token in"
                    + " X-Auth-Token (POST /identity/v3/auth/tokens issues one).");
        }
        Caller caller = identity.get().caller(token.trim()).orElseThrow(() ->
                ApiException.unauthorized("The token is invalid or has expired; authenticate again."));
        // Identity has its own policies; every other API wants a project and, to change, member.
        boolean identityApi = path.startsWith("identity/") || path.startsWith("/identity/");
        if (!caller.scoped() && !identityApi) {
            throw ApiException.unauthorized("The token is not scoped to a project: rescope it (POST"
                    + " /identity/v3/auth/tokens with a project scope) to use this API.");
        }
        if (!caller.mayChange() && !READS.contains(request.getMethod()) && !identityApi) {
            throw ApiException.forbidden("Policy doesn't allow " + request.getMethod() + " " + path + ": the"
                    + " token's roles (" + String.join(", ", caller.roles()) + ") may read and not change anything;"
                    + " changes need the member role.");
        }
        request.setProperty(CALLER, caller);
    }

    /** The authenticated caller of a request this filter let through. */
    public static Caller caller(ContainerRequestContext request) {
        Object c = request.getProperty(CALLER);
        if (!(c instanceof Caller)) {
            throw ApiException.unauthorized("The request you have made requires authentication.");
        }
        return (Caller) c;
    }

    /** The caller, who must be an admin for what {@code action} describes. */
    public static Caller admin(ContainerRequestContext request, String action) {
        Caller c = caller(request);
        if (!c.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow " + action + " to be performed: it needs the admin role.");
        }
        return c;
    }
}
