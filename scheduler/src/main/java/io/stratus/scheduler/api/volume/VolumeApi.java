package io.stratus.scheduler.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.service.SchedulerConfig;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.UriInfo;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** What every Block Storage resource does alike: who calls, where the API is, and reading Cinder's bodies. */
abstract class VolumeApi {
    static final String ROOT = "/volume/v3";

    @Context
    ContainerRequestContext request;
    @Context
    UriInfo uri;
    @Inject
    SchedulerConfig config;

    Caller caller() {
        return TokenFilter.caller(request);
    }

    VolumeService.Asker asker() {
        Caller c = caller();
        return new VolumeService.Asker(c.projectId(), c.userId(), c.isAdmin(), request.getHeaderString("X-Auth-Token"));
    }

    /** Whether an admin asked for every project's ({@code all_tenants}); others always see their own. */
    String listedProject() {
        Caller c = caller();
        String all = uri.getQueryParameters().getFirst("all_tenants");
        boolean everyone = c.isAdmin() && all != null && !all.equals("0") && !all.equalsIgnoreCase("false");
        return everyone ? null : c.projectId();
    }

    /** {@code GET /volumes/} is a show of the empty id (not found), not the list. */
    void noEmptyId() {
        if (uri.getPath().endsWith("/")) {
            throw VolumeException.notFound("Resource", "''");
        }
    }

    String base() {
        return config.publicUrl() + ROOT;
    }

    /** The object under {@code key}, which the body must have. */
    static JsonNode member(JsonNode body, String key) {
        JsonNode n = body == null ? null : body.get(key);
        if (n == null || !n.isObject()) {
            throw VolumeException.invalid("Invalid input received: the request body needs the object '" + key + "'.");
        }
        return n;
    }

    static Optional<String> text(JsonNode o, String key, int max) {
        JsonNode n = o.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw VolumeException.invalid("Invalid input received: " + key + " must be a string.");
        }
        if (n.asText().length() > max) {
            throw VolumeException.invalid("Invalid input received: " + key + " is longer than " + max
                    + " characters.");
        }
        return Optional.of(n.asText());
    }

    /** Cinder's boolean parameters: true/false, or their text ("True", "1", "yes"). */
    static Optional<Boolean> bool(JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (n.isBoolean()) {
            return Optional.of(n.asBoolean());
        }
        String t = n.asText().trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("true") || t.equals("1") || t.equals("yes") || t.equals("on") || t.equals("y")) {
            return Optional.of(true);
        }
        if (t.equals("false") || t.equals("0") || t.equals("no") || t.equals("off") || t.equals("n")) {
            return Optional.of(false);
        }
        throw VolumeException.invalid("Invalid input received: " + key + " must be a boolean, not " + n + ".");
    }

    /** A size in GiB: a positive integer, or its text. */
    static Optional<Integer> size(JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        try {
            long v = n.isIntegralNumber() ? n.asLong() : n.isTextual() ? Long.parseLong(n.asText().trim()) : -1;
            if (v <= 0 || v > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return Optional.of((int) v);
        } catch (NumberFormatException e) {
            throw VolumeException.invalid("Invalid input received: " + key + " must be an integer (and be greater"
                    + " than 0), not " + n + ".");
        }
    }

    /** The body of a PUT .../metadata/{key}: its {@code meta} must be that one item. */
    static Map<String, String> metadataItem(JsonNode body, String key) {
        Map<String, String> item = metadata(body, "meta");
        if (item.size() != 1 || !item.containsKey(key)) {
            throw VolumeException.invalid("Invalid input received: the body's meta must be the one item " + key
                    + ".");
        }
        return item;
    }

    /**
     * {@code {"meta": {key: value}}} from {@code all}.
     *
     * @param what the thing's metadata as Cinder's not-found names it ("Volume metadata with key")
     */
    static Map<String, Object> metaOf(Map<String, String> all, String key, String what) {
        String value = all.get(key);
        if (value == null) {
            throw VolumeException.notFound(what, key);
        }
        return Map.of("meta", Map.of(key, value));
    }

    /** Cinder's metadata: string keys (1-255) to string values (up to 255). */
    static Map<String, String> metadata(JsonNode o, String key) {
        JsonNode n = o == null ? null : o.get(key);
        Map<String, String> out = new LinkedHashMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            throw VolumeException.invalid("Invalid input received: " + key + " must be an object.");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().isEmpty() || e.getKey().length() > 255) {
                throw VolumeException.invalid("Invalid input received: metadata keys are 1 to 255 characters.");
            }
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                throw VolumeException.invalid("Invalid input received: metadata value of " + e.getKey()
                        + " must be a string.");
            }
            if (e.getValue().asText().length() > 255) {
                throw VolumeException.invalid("Invalid input received: metadata value of " + e.getKey()
                        + " is longer than 255 characters.");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }
}
