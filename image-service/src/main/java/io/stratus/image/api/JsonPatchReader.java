package io.stratus.image.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.image.catalog.ImagePatch;
import io.stratus.image.catalog.PatchOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads the body of {@code PATCH /v2/images/{id}} as Glance does ({@code RequestDeserializer.update}):
 * a JSON array of operations in one of two media types, {@code application/openstack-images-v2.1-json-patch}
 * (RFC 6902: {@code {"op": "replace", "path": "/name", "value": "x"}}) or
 * {@code application/openstack-images-v2.0-json-patch} ({@code {"replace": "/name", "value": "x"}}).
 * A path is a JSON pointer to one attribute ({@code ~1} for '/', {@code ~0} for '~').
 */
final class JsonPatchReader {
    static final String V2_0 = "application/openstack-images-v2.0-json-patch";
    static final String V2_1 = "application/openstack-images-v2.1-json-patch";
    /** The {@code Accept-Patch} header of a 415 answer. */
    static final String ACCEPTED = V2_0 + ", " + V2_1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> OPS = List.of("add", "remove", "replace");
    private static final Pattern ADJACENT_SLASHES = Pattern.compile("/\\s*?/");
    private static final Pattern BAD_ESCAPE = Pattern.compile("~[^01]");

    private JsonPatchReader() {
    }

    /** Whether {@code contentType} is a patch media type: empty if not, else whether its {@code add} replaces. */
    static Optional<Boolean> addReplaces(String contentType) {
        String type = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        return switch (type) {
            case V2_1 -> Optional.of(true);
            case V2_0 -> Optional.of(false);
            default -> Optional.empty();
        };
    }

    /** The patch in {@code body}; 400 for anything Glance would refuse to parse. */
    static ImagePatch read(boolean addReplaces, String body) {
        JsonNode changes;
        try {
            changes = JSON.readTree(body == null ? "" : body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (changes == null || changes.isMissingNode()) {
            throw ApiException.badRequest("Body expected in request.");
        }
        if (!changes.isArray()) {
            throw ApiException.badRequest("Request body must be a JSON array of operation objects.");
        }
        List<PatchOperation> ops = new ArrayList<>();
        for (JsonNode change : changes) {
            if (!change.isObject()) {
                throw ApiException.badRequest("Operations must be JSON objects.");
            }
            String op = addReplaces ? op21(change) : op20(change);
            JsonNode path = addReplaces ? change.get("path") : change.get(op);
            if (path == null) {
                throw ApiException.badRequest("Unable to find 'path' in JSON Schema change");
            }
            if (!path.isTextual()) {
                throw ApiException.badRequest("The path of an operation is a JSON pointer string, not " + path);
            }
            List<String> pointer = decode(path.asText());
            int depth = pointer.get(0).equals("locations") && !op.equals("replace") ? 2 : 1;
            if (pointer.size() != depth) {
                throw ApiException.badRequest("Invalid JSON pointer for this resource: '/" + String.join("/", pointer)
                        + "'");
            }
            String attribute = pointer.get(0);
            if (op.equals("remove")) {
                ops.add(PatchOperation.remove(attribute));
                continue;
            }
            if (!change.has("value")) {
                throw ApiException.badRequest("Operation \"" + op + "\" requires a member named \"value\".");
            }
            ops.add(op.equals("add") ? PatchOperation.add(attribute, change.get("value"))
                    : PatchOperation.replace(attribute, change.get("value")));
        }
        return new ImagePatch(addReplaces, ops);
    }

    private static String op21(JsonNode change) {
        JsonNode op = change.get("op");
        if (op == null) {
            throw ApiException.badRequest("Unable to find `op` in JSON Schema change. It must be one of the following:"
                    + " " + String.join(", ", OPS) + ".");
        }
        if (!op.isTextual() || !OPS.contains(op.asText())) {
            throw ApiException.badRequest("Invalid operation: `" + op.asText() + "`. It must be one of the following: "
                    + String.join(", ", OPS) + ".");
        }
        return op.asText();
    }

    private static String op20(JsonNode change) {
        String found = null;
        for (String op : OPS) {
            if (change.has(op)) {
                if (found != null) {
                    throw ApiException.badRequest("Operation objects must contain only one member named \"add\","
                            + " \"remove\", or \"replace\".");
                }
                found = op;
            }
        }
        if (found == null) {
            throw ApiException.badRequest("Operation objects must contain exactly one member named \"add\","
                    + " \"remove\", or \"replace\".");
        }
        return found;
    }

    /** Glance's {@code _decode_json_pointer}, with its checks. */
    private static List<String> decode(String pointer) {
        if (!pointer.startsWith("/")) {
            throw ApiException.badRequest("Pointer `" + pointer + "` does not start with \"/\".");
        }
        if (ADJACENT_SLASHES.matcher(pointer.substring(1)).find()) {
            throw ApiException.badRequest("Pointer `" + pointer + "` contains adjacent \"/\".");
        }
        if (pointer.length() > 1 && pointer.endsWith("/")) {
            throw ApiException.badRequest("Pointer `" + pointer + "` end with \"/\".");
        }
        if (BAD_ESCAPE.matcher(pointer).find() || pointer.endsWith("~")) {
            throw ApiException.badRequest("Pointer `" + pointer + "` contains \"~\" not part of a recognized escape"
                    + " sequence.");
        }
        List<String> parts = new ArrayList<>();
        for (String part : pointer.substring(1).split("/", -1)) {
            parts.add(part.replace("~1", "/").replace("~0", "~").strip());
        }
        if (parts.get(0).isEmpty()) {
            throw ApiException.badRequest("Pointer `" + pointer + "` names no attribute.");
        }
        return parts;
    }
}
