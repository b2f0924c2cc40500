package io.stratus.image.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.api.BoundedCache;
import io.stratus.api.auth.Caller;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * Checks tokens against the Identity v3 API ({@code GET /auth/tokens}, as Keystone's middleware
 * does) and remembers the answer for {@code cacheFor}, so that a download's many requests and a
 * busy client cost one check a minute, not one per call. A revoked token stays usable here for at
 * most {@code cacheFor}.
 *
 * <p>Tokens are remembered by their sha256, never by value, in two bounded caches: valid ones
 * (until {@code cacheFor} or the token's expiry, whichever comes first) and, apart, a small one of
 * tokens Identity refused, so that a client sending made-up tokens neither reaches Identity for
 * each repeat nor pushes the valid tokens out (as Keystone's middleware keeps invalid tokens
 * apart, hashed, for a short while).
 */
public final class RemoteIdentity {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int VALID_ENTRIES = 10_000;
    static final int INVALID_ENTRIES = 1_000;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String identityUrl;
    private final Duration cacheFor;
    private final Clock clock;
    private final BoundedCache<String, Caller> valid = new BoundedCache<>(VALID_ENTRIES);
    private final BoundedCache<String, Boolean> invalid = new BoundedCache<>(INVALID_ENTRIES);

    public RemoteIdentity(String identityUrl, Duration cacheFor, Clock clock) {
        this.identityUrl = identityUrl.endsWith("/") ? identityUrl.substring(0, identityUrl.length() - 1) : identityUrl;
        this.cacheFor = cacheFor;
        this.clock = clock;
    }

    /**
     * The caller a request's {@code X-Auth-Token} stands for.
     *
     * @throws ApiException 401 without a valid token, 503 when Identity does not answer
     */
    public Caller require(String token) {
        if (token == null || token.isBlank()) {
            throw ApiException.unauthorized("The request you have made requires authentication: send a token in"
                    + " X-Auth-Token (the Identity service issues one).");
        }
        try {
            return caller(token.trim()).orElseThrow(() ->
                    ApiException.unauthorized("The token is invalid or has expired; authenticate again."));
        } catch (IdentityUnavailableException e) {
            throw new ApiException(503, "tokens cannot be checked now: " + e.getMessage());
        }
    }

    /**
     * Who {@code token} stands for; empty when Identity says it is invalid or expired.
     *
     * @throws IdentityUnavailableException Identity did not answer
     */
    public Optional<Caller> caller(String token) {
        if (token.length() > 256) {
            return Optional.empty(); // longer than any token Identity issues: not worth asking
        }
        Instant now = clock.instant();
        String key = digest(token);
        Optional<Caller> known = valid.get(key, now);
        if (known.isPresent()) {
            return known;
        }
        if (invalid.get(key, now).isPresent()) {
            return Optional.empty();
        }
        Optional<Caller> caller = ask(token);
        Instant until = now.plus(cacheFor);
        if (caller.isPresent()) {
            Instant expires = caller.get().expiresAt();
            valid.put(key, caller.get(), expires.isBefore(until) ? expires : until);
        } else {
            invalid.put(key, Boolean.TRUE, until);
        }
        return caller;
    }

    /** How many answers are remembered: valid tokens, then refused ones. */
    int[] remembered() {
        return new int[] {valid.size(), invalid.size()};
    }

    private static String digest(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Optional<Caller> ask(String token) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(identityUrl + "/auth/tokens"))
                .header("X-Auth-Token", token).header("X-Subject-Token", token).timeout(Duration.ofSeconds(10))
                .GET().build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IdentityUnavailableException("the Identity service at " + identityUrl + " does not answer: "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IdentityUnavailableException("interrupted while checking a token");
        }
        if (response.statusCode() == 401 || response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new IdentityUnavailableException("the Identity service answered " + response.statusCode()
                    + " to a token check");
        }
        try {
            JsonNode t = JSON.readTree(response.body()).path("token");
            if (!t.path("project").hasNonNull("id")) {
                return Optional.empty(); // unscoped: good for the Identity API only
            }
            Set<String> roles = new HashSet<>();
            t.path("roles").forEach(role -> roles.add(role.path("name").asText()));
            return Optional.of(new Caller(t.path("user").path("id").asText(), t.path("project").path("id").asText(),
                    roles, Instant.parse(t.path("expires_at").asText())));
        } catch (IOException | RuntimeException e) {
            throw new IdentityUnavailableException("the Identity service's token answer is unreadable: "
                    + e.getMessage());
        }
    }

    /** Identity could not be asked; the request is answered 503, not 401. */
    public static final class IdentityUnavailableException extends RuntimeException {
        public IdentityUnavailableException(String message) {
            super(message);
        }
    }
}
