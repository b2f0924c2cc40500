package io.stratus.api.auth;

import io.stratus.api.ApiException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every call but the service's public paths carries a token in {@code X-Auth-Token}; the caller
 * it stands for is attached to the request for the resources to read. Two rules hold for every
 * API with no policies of its own: the token must be scoped to a project, and only a caller with
 * {@code member} or {@code admin} may change anything ({@code reader} reads, as in Keystone's
 * default roles).
 *
 * <p>Each service declares a subclass, annotated {@code @Provider @PreMatching}, that says which
 * paths are public, how a token is checked (the control plane's own store, or the Identity API)
 * and where tokens come from; the rules and the answers are this class's.
 */
public abstract class TokenFilter implements ContainerRequestFilter {
    private static final String CALLER = "stratus.caller";
    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

    private final Pattern publicPaths;
    private final String issuer;

    /**
     * @param publicPaths paths (as JAX-RS gives them, with or without the leading slash) that need
     *                    no token: version documents, health, metrics
     * @param issuer      what issues tokens, for the answer to a call without one
     */
    protected TokenFilter(Pattern publicPaths, String issuer) {
        this.publicPaths = publicPaths;
        this.issuer = issuer;
    }

    /**
     * The caller {@code token} stands for; empty when it is invalid or expired.
     *
     * @throws ApiException when the token cannot be checked now (503)
     */
    protected abstract Optional<Caller> caller(String token);

    /** Whether {@code method path} needs no token, besides the public paths (a login, say). */
    protected boolean open(String method, String path) {
        return false;
    }

    /** Whether {@code path} belongs to an API with its own policies (Identity), which the two rules skip. */
    protected boolean ownPolicies(String path) {
        return false;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        String method = request.getMethod();
        if (publicPaths.matcher(path).matches() || open(method, path)) {
            return;
        }
        String token = request.getHeaderString("X-Auth-Token");
        if (token == null || token.isBlank()) {
            throw ApiException.unauthorized("The request you have made requires authentication: send a token in"
                    + " X-Auth-Token (" + issuer + " issues one).");
        }
        Caller caller = caller(token.trim()).orElseThrow(() ->
                ApiException.unauthorized("The token is invalid or has expired; authenticate again."));
        boolean ownPolicies = ownPolicies(path);
        if (!caller.scoped() && !ownPolicies) {
            throw ApiException.unauthorized("The token is not scoped to a project: rescope it (POST"
                    + " /identity/v3/auth/tokens with a project scope) to use this API.");
        }
        if (!caller.mayChange() && !READS.contains(method) && !ownPolicies) {
            throw ApiException.forbidden("Policy doesn't allow " + method + " " + path + ": the"
                    + " token's roles (" + String.join(", ", caller.roles()) + ") may read and not change anything;"
                    + " changes need the member role.");
        }
        request.setProperty(CALLER, caller);
    }

    /** The authenticated caller of a request a token filter let through. */
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
