package io.stratus.scheduler.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.Forbidden;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.exception.OverLimit;
import io.stratus.scheduler.exception.ServiceUnavailable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The image service, as the scheduler reads it: image records by id, for checking a boot
 * request and for telling an agent what to boot. Calls carry the scheduler's own token.
 */
public final class ImageCatalog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Duration RENEW_BEFORE = Duration.ofMinutes(1);
    private static final Set<String> CORE = Set.of("id", "name", "status", "visibility", "owner", "disk_format",
            "container_format", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_ram",
            "min_disk", "protected", "os_hidden", "tags", "created_at", "updated_at", "self", "file", "schema");

    /** A token and when it expires. */
    public record Token(String token, Instant expiresAt) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String url;
    private final Supplier<Token> issuer;
    private final Clock clock;
    private Token token;

    /** @param url the Image API's root, such as {@code http://127.0.0.1:9292/image} */
    public ImageCatalog(String url, Supplier<Token> issuer, Clock clock) {
        this.url = url.replaceAll("/+$", "");
        this.issuer = issuer;
        this.clock = clock;
    }

    /**
     * Image {@code id} as the image service has it; empty when there is no such image.
     *
     * @throws ServiceUnavailable when the image service does not answer
     */
    public Optional<Image> find(String id) {
        return record(id).map(ImageCatalog::image);
    }

    /**
     * Image {@code id}'s record as the image service answers it (Glance v2 fields and properties
     * side by side), for the compute API's image proxy; empty when there is no such image.
     *
     * @throws ServiceUnavailable when the image service does not answer
     */
    public Optional<JsonNode> record(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        HttpResponse<String> r = call(() -> http.send(HttpRequest.newBuilder(URI.create(url + "/v2/images/" + id))
                .timeout(Duration.ofSeconds(30)).header("X-Auth-Token", token()).GET().build(),
                HttpResponse.BodyHandlers.ofString()));
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            if (r.statusCode() == 401) {
                forgetToken();
            }
            throw unavailable("HTTP " + r.statusCode() + " for image " + id);
        }
        try {
            return Optional.of(JSON.readTree(r.body()));
        } catch (IOException e) {
            throw unavailable("an unreadable image record: " + e.getMessage());
        }
    }

    /** Whether {@code field} is one of Glance's own fields rather than a property. */
    public static boolean coreField(String field) {
        return CORE.contains(field);
    }

    /** The Image API's root, as configured (for an image's address in a {@code Location}). */
    public String url() {
        return url;
    }

    /**
     * Creates a queued image with the caller's own token, so that it is the caller's project's
     * (Nova's snapshot creates it in Glance with the user's context); returns its id.
     *
     * @throws ComputeException what the image service refused (its 400, 403, 409 or 413), or
     *     {@link ServiceUnavailable}
     */
    public String create(String callerToken, Map<String, Object> fields) {
        HttpResponse<String> r = call(() -> http.send(HttpRequest.newBuilder(URI.create(url + "/v2/images"))
                .timeout(Duration.ofSeconds(30)).header("X-Auth-Token", callerToken)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(fields))).build(),
                HttpResponse.BodyHandlers.ofString()));
        if (r.statusCode() == 201 || r.statusCode() == 200) {
            try {
                return JSON.readTree(r.body()).path("id").asText();
            } catch (IOException e) {
                throw unavailable("an unreadable image record: " + e.getMessage());
            }
        }
        if (r.statusCode() == 400 || r.statusCode() == 403 || r.statusCode() == 409 || r.statusCode() == 413) {
            String message;
            try {
                message = JSON.readTree(r.body()).path("message").asText(r.body());
            } catch (IOException e) {
                message = r.body();
            }
            String refused = "The image service refused the image: " + message;
            throw switch (r.statusCode()) {
                case 403 -> new Forbidden(refused);
                case 409 -> new Conflict(refused);
                case 413 -> new OverLimit(refused);
                default -> new InvalidRequest(refused);
            };
        }
        throw unavailable("HTTP " + r.statusCode() + " creating an image");
    }

    /** Deletes image {@code id} with the scheduler's own token; one that is gone already is fine. */
    public void delete(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return;
        }
        HttpResponse<String> r = call(() -> http.send(HttpRequest.newBuilder(URI.create(url + "/v2/images/" + id))
                .timeout(Duration.ofSeconds(30)).header("X-Auth-Token", token()).DELETE().build(),
                HttpResponse.BodyHandlers.ofString()));
        if (r.statusCode() == 401) {
            forgetToken();
        }
        if (r.statusCode() >= 300 && r.statusCode() != 404) {
            throw unavailable("HTTP " + r.statusCode() + " deleting image " + id);
        }
    }

    /**
     * Writes image {@code id}'s data to {@code to} with the scheduler's own token (a volume made
     * from an image: Cinder's copy_image_to_volume).
     *
     * @throws ServiceUnavailable when the image service does not answer or has no data for it
     */
    public void download(String id, java.nio.file.Path to) {
        if (id == null || !ID.matcher(id).matches()) {
            throw unavailable("no such image " + id);
        }
        HttpResponse<java.nio.file.Path> r = call(() -> http.send(
                HttpRequest.newBuilder(URI.create(url + "/v2/images/" + id + "/file"))
                        .header("X-Auth-Token", token()).GET().build(), HttpResponse.BodyHandlers.ofFile(to)));
        if (r.statusCode() == 401) {
            forgetToken();
        }
        if (r.statusCode() != 200) {
            throw unavailable("HTTP " + r.statusCode() + " reading image " + id + "'s data");
        }
    }

    /**
     * Uploads {@code from} as queued image {@code id}'s data with the scheduler's own token (an
     * admin's, which may upload into any project's image: Cinder's upload_volume_to_image).
     *
     * @throws ServiceUnavailable when the image service does not take it
     */
    public void upload(String id, java.nio.file.Path from) {
        HttpResponse<String> r = call(() -> http.send(
                HttpRequest.newBuilder(URI.create(url + "/v2/images/" + id + "/file"))
                        .header("X-Auth-Token", token()).header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofFile(from)).build(), HttpResponse.BodyHandlers.ofString()));
        if (r.statusCode() == 401) {
            forgetToken();
        }
        if (r.statusCode() >= 300) {
            throw unavailable("HTTP " + r.statusCode() + " uploading image " + id + "'s data: " + r.body());
        }
    }

    /** One request to the image service. */
    @FunctionalInterface
    private interface Call<T> {
        HttpResponse<T> send() throws IOException, InterruptedException;
    }

    /** Runs {@code c}; the image service not answering (or this thread interrupted) is {@link ServiceUnavailable}. */
    private <T> HttpResponse<T> call(Call<T> c) {
        try {
            return c.send();
        } catch (IOException e) {
            throw unavailable(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("interrupted");
        }
    }

    private static Image image(JsonNode i) {
        Map<String, String> properties = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = i.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!CORE.contains(f.getKey()) && f.getValue().isValueNode() && !f.getValue().isNull()) {
                properties.put(f.getKey(), f.getValue().asText());
            }
        }
        return new Image(i.path("id").asText(), i.path("name").asText(), i.path("owner").asText(),
                i.path("visibility").asText(), i.path("status").asText(), i.path("disk_format").asText(),
                i.path("container_format").asText(), i.path("size").asLong(), i.path("os_hash_value").asText(""),
                i.path("min_ram").asLong(), i.path("min_disk").asLong(), properties.getOrDefault("kernel_id", ""),
                properties.getOrDefault("ramdisk_id", ""), properties.getOrDefault("os_command_line", ""), properties);
    }

    private synchronized String token() {
        if (token == null || !clock.instant().isBefore(token.expiresAt().minus(RENEW_BEFORE))) {
            token = issuer.get();
        }
        return token.token();
    }

    private synchronized void forgetToken() {
        token = null;
    }

    private ServiceUnavailable unavailable(String why) {
        return new ServiceUnavailable("The image service at " + url + " cannot be reached (" + why
                + "); try again later.");
    }
}
