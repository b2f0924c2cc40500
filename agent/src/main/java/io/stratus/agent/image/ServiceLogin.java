package io.stratus.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The agent's own token from the Identity service (password authentication of its service
 * user, scoped to a project), kept until shortly before it expires.
 */
public final class ServiceLogin {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MARGIN = Duration.ofMinutes(1);

    /** Who the agent is to the Identity service. */
    public record Credentials(String identityUrl, String user, String password, String project) {
        @Override
        public String toString() {
            return "Credentials[" + user + "@" + project + " at " + identityUrl + "]";
        }
    }

    private final HttpClient http;
    private final Credentials credentials;
    private final Clock clock;
    private String token;
    private Instant renewAt = Instant.MIN;

    public ServiceLogin(HttpClient http, Credentials credentials, Clock clock) {
        this.http = http;
        this.credentials = credentials;
        this.clock = clock;
    }

    /**
     * A valid token.
     *
     * @throws ImageException ImageUnavailable: Identity does not answer or refuses the credentials
     */
    public synchronized String token() {
        if (token == null || !clock.instant().isBefore(renewAt)) {
            login();
        }
        return token;
    }

    /** Forgets the token (the image service refused it): the next call logs in again. */
    public synchronized void invalidate() {
        token = null;
    }

    private void login() {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode identity = body.putObject("auth").putObject("identity");
        identity.putArray("methods").add("password");
        ObjectNode user = identity.putObject("password").putObject("user");
        user.put("name", credentials.user()).put("password", credentials.password());
        user.putObject("domain").put("id", "default");
        ObjectNode project = ((ObjectNode) body.get("auth")).putObject("scope").putObject("project");
        project.put("name", credentials.project()).putObject("domain").put("id", "default");
        String url = credentials.identityUrl().replaceAll("/+$", "") + "/auth/tokens";
        HttpResponse<String> r;
        try {
            r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ImageException("ImageUnavailable", "the Identity service at " + url + " does not answer: "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("ImageUnavailable", "interrupted while logging in at " + url);
        }
        String issued = r.headers().firstValue("X-Subject-Token").orElse(null);
        if (r.statusCode() != 201 || issued == null) {
            throw new ImageException("ImageUnavailable", "the Identity service at " + url + " refused the agent's"
                    + " service user " + credentials.user() + " (HTTP " + r.statusCode() + "): check"
                    + " stratus.agent.image-service.user and its password");
        }
        Instant expires;
        try {
            JsonNode t = JSON.readTree(r.body()).path("token");
            expires = Instant.parse(t.path("expires_at").asText());
        } catch (IOException | RuntimeException e) {
            expires = clock.instant().plus(MARGIN.multipliedBy(5));
        }
        token = issued;
        renewAt = expires.minus(MARGIN);
    }
}
