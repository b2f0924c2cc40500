package io.stratus.scheduler.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reading a Neutron request body: the resource's object (or a bulk list), and its attributes with
 * Neutron's 400s ({@code Invalid input for <attr>. Reason: ...}). Admin-only attributes are refused
 * to others as Neutron's policy does (403).
 */
final class NeutronBody {
    private NeutronBody() {
    }

    /** The objects of a create: {@code {"network": {...}}} or a bulk {@code {"networks": [...]}}. */
    static List<JsonNode> creates(JsonNode body, String resource, String collection) {
        if (body != null && body.has(collection) && body.get(collection).isArray()) {
            List<JsonNode> out = new ArrayList<>();
            body.get(collection).forEach(n -> out.add(object(n, resource)));
            return out;
        }
        return List.of(one(body, resource));
    }

    static JsonNode one(JsonNode body, String resource) {
        if (body == null || !body.has(resource)) {
            throw invalid("Resource body required", resource);
        }
        return object(body.get(resource), resource);
    }

    private static JsonNode object(JsonNode n, String resource) {
        if (!n.isObject()) {
            throw invalid("'" + n + "' is not a dictionary", resource);
        }
        return n;
    }

    static ApiException invalid(String reason, String attribute) {
        return new ApiException(400, "Invalid input for " + attribute + ". Reason: " + reason + ".", "HTTPBadRequest");
    }

    static Optional<String> string(JsonNode o, String name, int max) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw invalid("'" + n + "' is not a valid string", name);
        }
        if (n.asText().length() > max) {
            throw invalid("'" + n.asText() + "' exceeds maximum length of " + max, name);
        }
        return Optional.of(n.asText());
    }

    static Optional<Boolean> bool(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (n.isBoolean()) {
            return Optional.of(n.asBoolean());
        }
        if (n.isTextual() && (n.asText().equalsIgnoreCase("true") || n.asText().equalsIgnoreCase("false"))) {
            return Optional.of(Boolean.parseBoolean(n.asText()));
        }
        throw invalid("'" + n + "' cannot be converted to boolean", name);
    }

    static Optional<Integer> integer(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (n.isIntegralNumber() && n.canConvertToInt()) {
            return Optional.of(n.asInt());
        }
        if (n.isTextual() && n.asText().matches("-?[0-9]{1,9}")) {
            return Optional.of(Integer.parseInt(n.asText()));
        }
        throw invalid("'" + n + "' is not an integer", name);
    }

    static Optional<List<String>> strings(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isArray()) {
            throw invalid("'" + n + "' is not a list", name);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw invalid("'" + e + "' is not a valid string", name);
            }
            out.add(e.asText());
        }
        return Optional.of(out);
    }

    static Optional<List<JsonNode>> objects(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isArray()) {
            throw invalid("'" + n + "' is not a list", name);
        }
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : n) {
            out.add(object(e, name));
        }
        return Optional.of(out);
    }

    /** Refuses {@code name} to a caller who is not an admin, as Neutron's policy does. */
    static void adminOnly(JsonNode o, String name, Caller caller) {
        if (o.has(name) && !caller.isAdmin()) {
            throw new ApiException(403, "(rule:create_network:" + name + ") is disallowed by policy",
                    "PolicyNotAuthorized");
        }
    }

    /** The project a create is for: the caller's, or (admins only) the one named. */
    static String project(JsonNode o, Caller caller) {
        Optional<String> named = string(o, "project_id", 255).or(() -> string(o, "tenant_id", 255));
        if (named.isPresent() && !named.get().equals(caller.projectId()) && !caller.isAdmin()) {
            throw new ApiException(403, "Specifying 'project_id' or 'tenant_id' other than the authenticated"
                    + " project in request requires admin privileges", "HTTPForbidden");
        }
        return named.orElse(caller.projectId());
    }
}
