package io.stratus.scheduler.identity;

import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The control plane's token check ({@link TokenFilter}'s rules) against its own Identity store.
 * Token creation takes no token; the Identity API has its own policies (an unscoped token
 * reaches it, and its own checks say who may change what).
 */
@Provider
@PreMatching
public class SchedulerTokenFilter extends TokenFilter {
    /**
     * Version documents and health/metrics: clients read these before they have a token. The
     * metadata service takes no token either: the agents' proxies sign for the instance instead.
     */
    private static final Pattern PUBLIC = Pattern.compile(
            "/?(|identity/?|identity/v3/?|compute/?|compute/v2(\\.1)?/?|network/?|network/v2\\.0/?|volume/?"
                    + "|volume/v3/?|image/?|image/versions/?|q/.*|metrics|metadata(/.*)?)");
    private static final Set<String> TOKEN_PATHS = Set.of("identity/v3/auth/tokens", "/identity/v3/auth/tokens");

    /** Looked up per request: JAX-RS providers are built before the runtime configuration exists. */
    @Inject
    Instance<IdentityStore> identity;

    public SchedulerTokenFilter() {
        super(PUBLIC, "POST /identity/v3/auth/tokens");
    }

    @Override
    protected Optional<Caller> caller(String token) {
        return identity.get().caller(token);
    }

    @Override
    protected boolean open(String method, String path) {
        return TOKEN_PATHS.contains(path) && method.equals("POST");
    }

    @Override
    protected boolean ownPolicies(String path) {
        return path.startsWith("identity/") || path.startsWith("/identity/");
    }
}
