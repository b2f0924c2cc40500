package io.stratus.cli.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * A client of the Stratus APIs (Identity v3, Compute v2.1, Image v2) for the CLI: a password
 * token, the endpoints from its catalog, JSON in and out, and OpenStack error bodies turned into
 * {@link CloudException}s that carry the API's message.
 */
public final class CloudClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String token;
    private final String compute;
    private final String image;
    private final String identity;
    private final Optional<String> network;

    private CloudClient(String token, String compute, String image, String identity, Optional<String> network) {
        this.token = token;
        this.compute = compute;
        this.image = image;
        this.identity = identity;
        this.network = network;
    }

    /** Authenticates with a password, scoped to {@code project}. */
    public static CloudClient login(String authUrl, String user, String password, String project) {
        String base = authUrl.endsWith("/") ? authUrl.substring(0, authUrl.length() - 1) : authUrl;
        ObjectNode body = JSON.createObjectNode();
        ObjectNode auth = body.putObject("auth");
        ObjectNode id = auth.putObject("identity");
        id.putArray("methods").add("password");
        ObjectNode u = id.putObject("password").putObject("user");
        u.put("name", user);
        u.put("password", password);
        u.putObject("domain").put("name", "Default");
        ObjectNode p = auth.putObject("scope").putObject("project");
        p.put("name", project);
        p.putObject("domain").put("name", "Default");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = send(http, HttpRequest.newBuilder(URI.create(base + "/auth/tokens"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build());
        JsonNode catalog = parse(r).path("token").path("catalog");
        String token = r.headers().firstValue("X-Subject-Token").orElseThrow(() ->
                new CloudException(r.statusCode(), "the identity service issued no token"));
        return new CloudClient(token, endpoint(catalog, "compute"), endpoint(catalog, "image"), base,
                optionalEndpoint(catalog, "network"));
    }

    private static String endpoint(JsonNode catalog, String type) {
        return optionalEndpoint(catalog, type).orElseThrow(() ->
                new CloudException(0, "the service catalog names no public " + type + " endpoint"));
    }

    private static Optional<String> optionalEndpoint(JsonNode catalog, String type) {
        for (JsonNode service : catalog) {
            if (service.path("type").asText().equals(type)) {
                for (JsonNode e : service.path("endpoints")) {
                    if (e.path("interface").asText().equals("public")) {
                        return Optional.of(e.path("url").asText());
                    }
                }
            }
        }
        return Optional.empty();
    }

    public JsonNode compute(String method, String path, JsonNode body) {
        return call(method, compute + path, body);
    }

    public JsonNode image(String method, String path, JsonNode body) {
        return call(method, image + path, body);
    }

    /** A call to the Network API ({@code path} after its root, e.g. {@code /v2.0/networks}). */
    public JsonNode network(String method, String path, JsonNode body) {
        return call(method, network.orElseThrow(() -> new CloudException(0,
                "the service catalog names no public network endpoint")) + path, body);
    }

    public JsonNode identity(String method, String path, JsonNode body) {
        return call(method, identity + path, body);
    }

    /** Streams a file as an image's data. */
    public void upload(String imageId, Path file) throws IOException {
        parse(send(http, HttpRequest.newBuilder(URI.create(image + "/v2/images/" + imageId + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build()));
    }

    /**
     * The first image named {@code name} that the caller sees. The name is given with Glance's
     * {@code eq:} operator: a bare name with a colon in it would read as an operator.
     */
    public Optional<JsonNode> imageNamed(String name) {
        for (JsonNode i : image("GET", "/v2/images?name=" + encode("eq:" + name), null).path("images")) {
            return Optional.of(i);
        }
        return Optional.empty();
    }

    public static ObjectNode object(Map<String, ?> fields) {
        return JSON.valueToTree(fields);
    }

    public static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private JsonNode call(String method, String url, JsonNode body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("X-Auth-Token", token)
                .header("Accept", "application/json").timeout(Duration.ofSeconds(60));
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return parse(send(http, b.build()));
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new CloudException(0, "cannot reach " + request.uri() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, "interrupted while calling " + request.uri());
        }
    }

    private static JsonNode parse(HttpResponse<String> r) {
        JsonNode body;
        try {
            body = r.body() == null || r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
        } catch (IOException e) {
            body = JSON.createObjectNode().put("message", r.body());
        }
        if (r.statusCode() >= 400) {
            throw new CloudException(r.statusCode(), r.request().method() + " " + r.request().uri().getPath() + ": "
                    + r.statusCode() + " " + message(body));
        }
        return body;
    }

    /** The message of an OpenStack error body: {"itemNotFound": {"message": ...}} or {"error": {...}}. */
    private static String message(JsonNode body) {
        for (Iterator<JsonNode> it = body.elements(); it.hasNext(); ) {
            JsonNode n = it.next();
            if (n.has("message")) {
                return n.get("message").asText();
            }
        }
        return body.has("message") ? body.get("message").asText() : body.toString();
    }
}
