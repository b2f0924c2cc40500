package io.stratus.image.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One change of a JSON-patch to an image: an {@code op} on the attribute a one-level path names
 * ({@code /name}, {@code /tags}, {@code /os_distro}).
 *
 * @param value what {@code add} and {@code replace} set; {@code null} for {@code remove}
 */
public record PatchOperation(Op op, String attribute, JsonNode value) {
    /** The operations Glance supports. */
    public enum Op {
        ADD, REPLACE, REMOVE
    }

    public PatchOperation {
        Objects.requireNonNull(op);
        Objects.requireNonNull(attribute);
        if ((op == Op.REMOVE) != (value == null)) {
            throw new IllegalArgumentException(op + " " + (value == null ? "needs" : "takes no") + " value");
        }
    }

    public static PatchOperation add(String attribute, JsonNode value) {
        return new PatchOperation(Op.ADD, attribute, value);
    }

    public static PatchOperation replace(String attribute, JsonNode value) {
        return new PatchOperation(Op.REPLACE, attribute, value);
    }

    public static PatchOperation remove(String attribute) {
        return new PatchOperation(Op.REMOVE, attribute, null);
    }
}
