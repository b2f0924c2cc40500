package io.stratus.image.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Glance's image schema ({@code GET /v2/schemas/image} and {@code /v2/schemas/images}), and the
 * checks it makes of the values a create or a patch gives. The properties are Glance's own
 * ({@code glance/api/v2/images.py} {@code get_base_properties}, in
 * {@code schemas/image-base-properties.json}) with the formats this service takes, and the
 * properties of Glance's default {@code schema-image.json} ({@code kernel_id}, {@code ramdisk_id},
 * {@code architecture}, {@code os_distro}...), marked {@code is_base: false}; any other property
 * is a string ({@code additionalProperties}).
 *
 * <p>The checks cover the keywords those documents use: {@code type}, {@code enum},
 * {@code maxLength}, {@code pattern} and an array's {@code items}.
 */
public final class ImageSchema {
    /** Glance's default {@code disk_formats}, in its order. */
    public static final List<String> DISK_FORMATS = List.of("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
            "qcow2", "vdi", "iso", "ploop");
    /** Glance's default {@code container_formats}, in its order. */
    public static final List<String> CONTAINER_FORMATS = List.of("ami", "ari", "aki", "bare", "ovf", "ova",
            "docker", "compressed");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final ObjectNode properties;
    private final ObjectNode additional;

    private ImageSchema(ObjectNode properties) {
        this.properties = properties;
        this.additional = NODES.objectNode().put("type", "string");
    }

    /** The schema with Glance's default formats and custom properties. */
    public static ImageSchema glance() {
        ObjectNode base = load("/schemas/image-base-properties.json");
        formats(base, "disk_format", DISK_FORMATS);
        formats(base, "container_format", CONTAINER_FORMATS);
        ObjectNode custom = load("/schemas/image-custom-properties.json");
        custom.fields().forEachRemaining(f -> ((ObjectNode) f.getValue()).put("is_base", false));
        base.setAll(custom);
        return new ImageSchema(base);
    }

    /** The document {@code GET /v2/schemas/image} answers. */
    public ObjectNode image() {
        ObjectNode doc = NODES.objectNode();
        doc.put("name", "image");
        doc.set("properties", properties.deepCopy());
        doc.set("additionalProperties", additional.deepCopy());
        ArrayNode links = doc.putArray("links");
        links.addObject().put("rel", "self").put("href", "{self}");
        links.addObject().put("rel", "enclosure").put("href", "{file}");
        links.addObject().put("rel", "describedby").put("href", "{schema}");
        return doc;
    }

    /** The document {@code GET /v2/schemas/images} answers: a page of images. */
    public ObjectNode images() {
        ObjectNode doc = NODES.objectNode();
        doc.put("name", "images");
        ObjectNode props = doc.putObject("properties");
        props.putObject("images").put("type", "array").set("items", image());
        props.putObject("first").put("type", "string");
        props.putObject("next").put("type", "string");
        props.putObject("schema").put("type", "string");
        ArrayNode links = doc.putArray("links");
        links.addObject().put("rel", "first").put("href", "{first}");
        links.addObject().put("rel", "next").put("href", "{next}");
        links.addObject().put("rel", "describedby").put("href", "{schema}");
        return doc;
    }

    /** Whether {@code attribute} is one of Glance's own (not a custom property). */
    public boolean isBase(String attribute) {
        JsonNode p = properties.get(attribute);
        return p != null && p.path("is_base").asBoolean(true);
    }

    /** Whether {@code attribute}'s schema allows {@code null}. */
    public boolean allowsNull(String attribute) {
        return types(definition(attribute)).contains("null");
    }

    /**
     * Checks {@code value} against what the schema says of {@code attribute}.
     *
     * @throws CatalogException {@link CatalogException.Reason#INVALID}, naming the attribute and the rule
     */
    public void check(String attribute, JsonNode value) {
        String problem = problem(definition(attribute), value);
        if (problem != null) {
            throw CatalogException.invalid("Provided object does not match schema 'image': " + problem
                    + " (attribute '" + attribute + "')");
        }
    }

    private JsonNode definition(String attribute) {
        JsonNode p = properties.get(attribute);
        return p == null ? additional : p;
    }

    private static String problem(JsonNode rule, JsonNode value) {
        List<String> types = types(rule);
        if (!types.isEmpty() && types.stream().noneMatch(t -> is(t, value))) {
            return shown(value) + " is not of type "
                    + String.join(", ", types.stream().map(t -> "'" + t + "'").toList());
        }
        JsonNode allowed = rule.get("enum");
        if (allowed != null) {
            boolean listed = false;
            for (JsonNode a : allowed) {
                listed |= a.equals(value);
            }
            if (!listed) {
                return shown(value) + " is not one of " + allowed;
            }
        }
        if (value.isTextual()) {
            String s = value.asText();
            if (rule.has("maxLength") && s.codePointCount(0, s.length()) > rule.get("maxLength").asInt()) {
                return shown(value) + " is too long (at most " + rule.get("maxLength").asInt() + " characters)";
            }
            if (rule.has("pattern") && !Pattern.compile(rule.get("pattern").asText()).matcher(s).find()) {
                return shown(value) + " does not match '" + rule.get("pattern").asText() + "'";
            }
        }
        if (value.isArray() && rule.has("items")) {
            for (JsonNode item : value) {
                String p = problem(rule.get("items"), item);
                if (p != null) {
                    return p;
                }
            }
        }
        return null;
    }

    /** A value as a message shows it: a string in single quotes, at most 64 characters of it. */
    private static String shown(JsonNode value) {
        String s = value.isTextual() ? value.asText() : value.toString();
        s = s.length() > 64 ? s.substring(0, 61) + "..." : s;
        return value.isTextual() ? "'" + s + "'" : s;
    }

    private static List<String> types(JsonNode rule) {
        JsonNode t = rule.get("type");
        List<String> out = new ArrayList<>();
        if (t != null && t.isArray()) {
            t.forEach(x -> out.add(x.asText()));
        } else if (t != null) {
            out.add(t.asText());
        }
        return out;
    }

    private static boolean is(String type, JsonNode v) {
        return switch (type) {
            case "null" -> v.isNull();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "array" -> v.isArray();
            case "object" -> v.isObject();
            default -> false;
        };
    }

    private static void formats(ObjectNode base, String attribute, List<String> formats) {
        ArrayNode e = ((ObjectNode) base.get(attribute)).putArray("enum");
        e.addNull();
        formats.forEach(e::add);
    }

    private static ObjectNode load(String resource) {
        try (InputStream in = ImageSchema.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the image schema resource " + resource + " is missing");
            }
            return (ObjectNode) JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the image schema resource " + resource, e);
        }
    }
}
