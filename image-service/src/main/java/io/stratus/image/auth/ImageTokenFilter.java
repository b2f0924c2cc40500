package io.stratus.image.auth;

import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.ext.Provider;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The image service's token check ({@link TokenFilter}'s rules) against the Identity API. Identity
 * answers an unscoped token as unknown here ({@link RemoteIdentity}), so every caller that passes
 * has a project.
 */
@Provider
@PreMatching
public class ImageTokenFilter extends TokenFilter {
    private static final Pattern PUBLIC = Pattern.compile("/?(|image/?|image/versions/?|q/.*|metrics)");

    /** Looked up per request: JAX-RS providers are built before the runtime configuration exists. */
    @Inject
    Instance<RemoteIdentity> identity;

    public ImageTokenFilter() {
        super(PUBLIC, "the Identity service");
    }

    @Override
    protected Optional<Caller> caller(String token) {
        try {
            return identity.get().caller(token);
        } catch (RemoteIdentity.IdentityUnavailableException e) {
            throw new ApiException(503, "tokens cannot be checked now: " + e.getMessage());
        }
    }
}
