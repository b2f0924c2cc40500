package io.stratus.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** The scheduler's HTTP API as a test calls it: a token (or none), raw status and JSON body back. */
final class Api {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** One answer. */
    record Reply(int status, JsonNode body, HttpResponse<String> raw) {
        String message() {
            for (JsonNode n : body) {
                if (n.has("message")) {
                    return n.get("message").asText();
                }
            }
            return body.toString();
        }
    }

    private final String base;
    private final String token;
    private final Map<String, String> headers;

    Api(String base, String token) {
        this(base, token, Map.of());
    }

    private Api(String base, String token, Map<String, String> headers) {
        this.base = base;
        this.token = token;
        this.headers = headers;
    }

    static Api anonymous(String base) {
        return new Api(base, null);
    }

    static Api login(String base, String user, String password, String project) {
        Reply r = authenticate(base, user, password, project);
        if (r.status() != 201) {
            throw new IllegalStateException("login of " + user + " failed: " + r.status() + " " + r.body());
        }
        return new Api(base, r.raw().headers().firstValue("X-Subject-Token").orElseThrow());
    }

    /** Keystone's password authentication, scoped to {@code project} or, when null, as the user's defaults say. */
    static Reply authenticate(String base, String user, String password, String project) {
        Map<String, Object> auth = new java.util.LinkedHashMap<>();
        auth.put("identity", Map.of("methods", java.util.List.of("password"), "password", Map.of("user", Map.of(
                "name", user, "domain", Map.of("name", "Default"), "password", password))));
        if (project != null) {
            auth.put("scope", Map.of("project", Map.of("name", project, "domain", Map.of("name", "Default"))));
        }
        return anonymous(base).call("POST", "/identity/v3/auth/tokens", Map.of("auth", auth));
    }

    /** This API's token, rescoped to {@code projectId} (Keystone's token method). */
    Reply rescope(String projectId) {
        return anonymous(base).call("POST", "/identity/v3/auth/tokens", Map.of("auth", Map.of(
                "identity", Map.of("methods", java.util.List.of("token"), "token", Map.of("id", token)),
                "scope", Map.of("project", Map.of("id", projectId)))));
    }

    /** Keystone's token validation of {@code subject}, with this API's token. */
    Reply validate(String subject) {
        return send(HttpRequest.newBuilder(URI.create(base + "/identity/v3/auth/tokens")).header("X-Auth-Token", token)
                .header("X-Subject-Token", subject).GET().build());
    }

    /** Keystone's token revocation of {@code subject}, with this API's token. */
    Reply revoke(String subject) {
        return send(HttpRequest.newBuilder(URI.create(base + "/identity/v3/auth/tokens")).header("X-Auth-Token", token)
                .header("X-Subject-Token", subject).DELETE().build());
    }

    String token() {
        return token;
    }

    /** The same token against another service (the image service). */
    Api at(String otherBase) {
        return new Api(otherBase, token, headers);
    }

    Api withToken(String other) {
        return new Api(base, other, headers);
    }

    /** The same caller sending {@code name: value} with every request (e.g. a microversion). */
    Api withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new Api(base, token, Map.copyOf(more));
    }

    /** The same caller asking for compute microversion {@code version}. */
    Api atMicroversion(String version) {
        return withHeader("OpenStack-API-Version", "compute " + version);
    }

    Reply call(String method, String path, Object body) {
        String text;
        try {
            text = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            b.header("X-Auth-Token", token);
        }
        headers.forEach(b::header);
        if (text != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(text));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return send(b.build());
    }

    Reply upload(String imageId, Path file) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + "/image/v2/images/" + imageId + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build());
    }

    JsonNode ok(String method, String path, Object body) {
        Reply r = call(method, path, body);
        if (r.status() >= 300 && r.status() != 300) {
            throw new AssertionError(method + " " + path + " answered " + r.status() + ": " + r.body());
        }
        return r.body();
    }

    /** Waits for server {@code id} to settle in {@code status}; ERROR on the way fails at once. */
    JsonNode awaitServer(String id, String status, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = ok("GET", "/compute/v2.1/servers/" + id, null).path("server");
            if (s.path("status").asText().equals(status) && s.path("OS-EXT-STS:task_state").isNull()) {
                return s;
            }
            if (s.path("status").asText().equals("ERROR") && !status.equals("ERROR")) {
                throw new AssertionError("server " + id + " went to ERROR: " + s.path("fault"));
            }
            pause();
        }
        throw new AssertionError("server " + id + " never reached " + status + "; last " + s);
    }

    /** Waits until server {@code id} is gone (404). */
    void awaitGone(String id, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (call("GET", "/compute/v2.1/servers/" + id, null).status() == 404) {
                return;
            }
            pause();
        }
        throw new AssertionError("server " + id + " was never deleted");
    }

    /** Enables or disables a host for scheduling (admin). */
    void switchHost(String host, boolean enabled) {
        ok("PUT", "/compute/v2.1/os-services/" + (enabled ? "enable" : "disable"), Map.of("host", host,
                "binary", "nova-compute"));
    }

    static void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static Map<String, Object> server(String name, String flavor, String image) {
        return Map.of("server", Map.of("name", name, "flavorRef", flavor, "imageRef", image));
    }

    private static Reply send(HttpRequest request) {
        try {
            HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            JsonNode body = JSON.createObjectNode();
            boolean json = r.headers().firstValue("Content-Type").map(t -> t.contains("json")).orElse(false);
            if (json && r.body() != null && !r.body().isBlank()) {
                body = JSON.readTree(r.body());
            }
            return new Reply(r.statusCode(), body, r);
        } catch (IOException e) {
            throw new IllegalStateException(request.method() + " " + request.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
