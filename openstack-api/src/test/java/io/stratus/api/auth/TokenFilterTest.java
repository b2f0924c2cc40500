package io.stratus.api.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.api.ApiException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class TokenFilterTest {
    private static final Instant LATER = Instant.parse("2099-01-01T00:00:00Z");
    private static final Map<String, Caller> TOKENS = Map.of(
            "member", new Caller("u-1", "p-1", Set.of(Caller.MEMBER), LATER),
            "reader", new Caller("u-2", "p-1", Set.of(Caller.READER), LATER),
            "unscoped", new Caller("u-3", "alice", null, null, Set.of(), Instant.EPOCH, LATER));

    /** A service whose {@code identity/} API keeps its own policies and whose login takes no token. */
    private static final class Filter extends TokenFilter {
        Filter() {
            super(Pattern.compile("/?(|image/?|q/.*)"), "the Identity service");
        }

        @Override
        protected Optional<Caller> caller(String token) {
            if (token.equals("down")) {
                throw new ApiException(503, "tokens cannot be checked now");
            }
            return Optional.ofNullable(TOKENS.get(token));
        }

        @Override
        protected boolean open(String method, String path) {
            return method.equals("POST") && path.equals("identity/v3/auth/tokens");
        }

        @Override
        protected boolean ownPolicies(String path) {
            return path.startsWith("identity/");
        }
    }

    private final Filter filter = new Filter();

    @Test
    void publicPathsAndOpenCallsNeedNoToken() {
        Request r = new Request("GET", "/image/", null);
        filter.filter(r.context());
        filter.filter(new Request("POST", "identity/v3/auth/tokens", null).context());
        assertThat(r.properties).isEmpty();
    }

    @Test
    void refusesACallWithoutATokenNamingWhoIssuesThem() {
        assertThatThrownBy(() -> filter.filter(new Request("GET", "image/v2/images", " ").context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("the Identity service issues one");
    }

    @Test
    void refusesAnUnknownToken() {
        assertThatThrownBy(() -> filter.filter(new Request("GET", "image/v2/images", "made-up").context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("invalid or has expired");
    }

    @Test
    void passesOnTheLookupsOwnRefusal() {
        assertThatThrownBy(() -> filter.filter(new Request("GET", "image/v2/images", "down").context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(503));
    }

    @Test
    void attachesTheCallerOfAValidToken() {
        Request r = new Request("POST", "image/v2/images", " member ");
        filter.filter(r.context());
        assertThat(TokenFilter.caller(r.context())).isEqualTo(TOKENS.get("member"));
    }

    @Test
    void letsAReaderReadAndNotChange() {
        Request read = new Request("GET", "image/v2/images", "reader");
        filter.filter(read.context());
        assertThat(TokenFilter.caller(read.context()).userId()).isEqualTo("u-2");
        assertThatThrownBy(() -> filter.filter(new Request("DELETE", "image/v2/images/i-1", "reader").context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(403))
                .hasMessageContaining("DELETE image/v2/images/i-1").hasMessageContaining("(reader)");
    }

    @Test
    void anUnscopedTokenReachesOnlyTheApiWithItsOwnPolicies() {
        assertThatThrownBy(() -> filter.filter(new Request("GET", "image/v2/images", "unscoped").context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("not scoped");
        Request own = new Request("POST", "identity/v3/projects", "unscoped");
        filter.filter(own.context());
        assertThat(TokenFilter.caller(own.context()).userName()).isEqualTo("alice");
    }

    @Test
    void adminNeedsTheAdminRole() {
        Request r = new Request("GET", "image/v2/images", "member");
        filter.filter(r.context());
        assertThatThrownBy(() -> TokenFilter.admin(r.context(), "images:purge"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(403))
                .hasMessageContaining("images:purge");
        assertThatThrownBy(() -> TokenFilter.caller(new Request("GET", "image/", null).context()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(401));
    }

    /** The few parts of a request the filter reads, and the properties it sets. */
    private static final class Request {
        final Map<String, Object> properties = new HashMap<>();
        private final String method;
        private final String path;
        private final String token;

        Request(String method, String path, String token) {
            this.method = method;
            this.path = path;
            this.token = token;
        }

        ContainerRequestContext context() {
            UriInfo uri = (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(),
                    new Class<?>[] {UriInfo.class}, (p, m, args) -> switch (m.getName()) {
                        case "getPath" -> path;
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
            return (ContainerRequestContext) Proxy.newProxyInstance(ContainerRequestContext.class.getClassLoader(),
                    new Class<?>[] {ContainerRequestContext.class}, (p, m, args) -> switch (m.getName()) {
                        case "getUriInfo" -> uri;
                        case "getMethod" -> method;
                        case "getHeaderString" -> "X-Auth-Token".equals(args[0]) ? token : null;
                        case "getProperty" -> properties.get((String) args[0]);
                        case "setProperty" -> {
                            properties.put((String) args[0], args[1]);
                            yield null;
                        }
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
        }
    }
}
