package io.stratus.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/**
 * Reading fields of a request body with the checks a public API needs: every missing, mistyped or
 * out-of-range field is a 400 that names the field, never a 500.
 */
public final class Json {
    private Json() {
    }

    /** The object under {@code name}; 400 if it is missing or not an object. */
    public static JsonNode object(JsonNode parent, String name) {
        JsonNode n = parent == null ? null : parent.get(name);
        if (n == null || !n.isObject()) {
            throw ApiException.badRequest("the request body needs an object '" + name + "'");
        }
        return n;
    }

    /** A required string; 400 if missing, not a string, empty or longer than {@code max}. */
    public static String string(JsonNode parent, String name, int max) {
        return optionalString(parent, name, max)
                .orElseThrow(() -> ApiException.badRequest("'" + name + "' is required"));
    }

    public static Optional<String> optionalString(JsonNode parent, String name, int max) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw ApiException.badRequest("'" + name + "' must be a string");
        }
        String s = n.asText();
        if (s.isEmpty() || s.length() > max) {
            throw ApiException.badRequest("'" + name + "' must be 1 to " + max + " characters long");
        }
        return Optional.of(s);
    }

    /** A required integer within [min, max], also accepted as a string of digits (as Nova does). */
    public static long integer(JsonNode parent, String name, long min, long max) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            throw ApiException.badRequest("'" + name + "' is required");
        }
        long v;
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            v = n.asLong();
        } else if (n.isTextual() && n.asText().matches("-?[0-9]{1,18}")) {
            v = Long.parseLong(n.asText());
        } else {
            throw ApiException.badRequest("'" + name + "' must be an integer");
        }
        if (v < min || v > max) {
            throw ApiException.badRequest("'" + name + "' must be between " + min + " and " + max + ", not " + v);
        }
        return v;
    }

    public static long optionalInteger(JsonNode parent, String name, long min, long max, long otherwise) {
        JsonNode n = parent.get(name);
        return n == null || n.isNull() ? otherwise : integer(parent, name, min, max);
    }

    public static boolean optionalBoolean(JsonNode parent, String name, boolean otherwise) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isTextual() && (n.asText().equalsIgnoreCase("true") || n.asText().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(n.asText());
        }
        throw ApiException.badRequest("'" + name + "' must be true or false");
    }
}
