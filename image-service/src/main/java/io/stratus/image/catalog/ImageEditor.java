package io.stratus.image.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.image.store.Image;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Applies a patch to an image as Glance does ({@code glance/api/v2/images.py}): every operation
 * is checked first (read-only and reserved attributes are refused, values must fit the schema),
 * then the operations apply in order to a copy, which is returned only when all of them applied.
 *
 * <ul>
 *   <li>{@code replace} sets one of Glance's attributes, or a property the image has;
 *   <li>{@code add} sets an attribute or a property; under the v2.0 media type an attribute or
 *       property the image has already is a conflict;
 *   <li>{@code remove} drops a property; Glance's own attributes cannot be removed.
 * </ul>
 * Formats change only while the image is {@code queued}; only admins publish images or give them
 * to another project.
 */
public final class ImageEditor {
    /** Glance's {@code image_property_quota}. */
    public static final int MAX_PROPERTIES = 128;
    /** Glance's {@code image_tag_quota}. */
    public static final int MAX_TAGS = 128;
    /** The longest property key (Glance's). */
    public static final int MAX_PROPERTY_LENGTH = 255;
    /**
     * The longest property value: Glance's column is a MySQL TEXT (64 KiB), and Nova writes long ones
     * (a volume-backed server's image holds its {@code block_device_mapping} as JSON, about 450
     * characters a volume).
     */
    public static final int MAX_PROPERTY_VALUE_LENGTH = 65535;
    /**
     * The most characters all of an image's property keys and values hold together: their JSON,
     * escapes included (at most 6 characters for one), fits the catalog's column of 1 000 000.
     */
    public static final int MAX_PROPERTIES_CHARACTERS = 160_000;
    private static final long MAX_MIN_RAM_MIB = 1L << 40;
    private static final long MAX_MIN_DISK_GIB = 1L << 30;
    /** Glance's {@code _readonly_properties}, and {@code stores} (read-only in its schema). */
    private static final Set<String> READ_ONLY = Set.of("created_at", "updated_at", "status", "checksum", "size",
            "virtual_size", "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value", "stores");
    private static final Set<String> RESERVED = Set.of("location", "deleted", "deleted_at");
    private static final String RESERVED_NAMESPACE = "os_glance";

    private final ImageSchema schema;

    public ImageEditor(ImageSchema schema) {
        this.schema = schema;
    }

    /**
     * The image with the patch applied; {@code image} itself is left as it was.
     *
     * @param admin whether the caller is an admin (who may publish and change owners)
     * @throws CatalogException when any operation is refused: then none applies
     */
    public Image apply(Image image, ImagePatch patch, boolean admin) {
        for (PatchOperation op : patch.operations()) {
            check(op);
        }
        Draft d = new Draft(image);
        for (PatchOperation op : patch.operations()) {
            apply(d, op, patch.addReplaces(), admin);
        }
        if (d.properties.size() > MAX_PROPERTIES) {
            throw CatalogException.limitExceeded("The limit has been exceeded on the number of allowed image"
                    + " properties. Attempted: " + d.properties.size() + ", Maximum: " + MAX_PROPERTIES);
        }
        long characters = d.properties.entrySet().stream().mapToLong(e -> e.getKey().length()
                + e.getValue().length()).sum();
        if (characters > MAX_PROPERTIES_CHARACTERS) {
            throw CatalogException.limitExceeded("The image's properties would hold " + characters + " characters,"
                    + " more than the " + MAX_PROPERTIES_CHARACTERS + " this service keeps");
        }
        if (d.tags.size() > MAX_TAGS) {
            throw CatalogException.limitExceeded("The limit has been exceeded on the number of allowed image tags."
                    + " Attempted: " + d.tags.size() + ", Maximum: " + MAX_TAGS);
        }
        return d.image();
    }

    /** Refuses an attribute no request may set: read-only, reserved, or not kept here. */
    private static void checkWritable(String attribute) {
        if (attribute.equals("locations")) {
            throw CatalogException.forbidden("It's not allowed to update locations if locations are invisible.");
        }
        if (READ_ONLY.contains(attribute)) {
            throw CatalogException.forbidden("Attribute '" + attribute + "' is read-only.");
        }
        if (RESERVED.contains(attribute) || attribute.startsWith(RESERVED_NAMESPACE)) {
            throw CatalogException.forbidden("Attribute '" + attribute + "' is reserved.");
        }
    }

    private void check(PatchOperation op) {
        checkWritable(op.attribute());
        if (op.op() != PatchOperation.Op.REMOVE) {
            schema.check(op.attribute(), op.value());
        }
    }

    private void apply(Draft d, PatchOperation op, boolean addReplaces, boolean admin) {
        String a = op.attribute();
        boolean base = schema.isBase(a);
        boolean present = base || d.properties.containsKey(a);
        switch (op.op()) {
            case REMOVE -> {
                if (base) {
                    throw CatalogException.forbidden("Property " + a + " may not be removed.");
                }
                if (!present) {
                    throw CatalogException.conflict("Property " + a + " does not exist.");
                }
                d.properties.remove(a);
            }
            case REPLACE -> {
                if (!present) {
                    throw CatalogException.conflict("Property " + a + " does not exist.");
                }
                set(d, a, op.value(), base, admin);
            }
            case ADD -> {
                if (present && !addReplaces) {
                    throw CatalogException.conflict("Property " + a + " already present.");
                }
                set(d, a, op.value(), base, admin);
            }
            default -> throw new IllegalStateException("unknown operation " + op.op());
        }
    }

    private void set(Draft d, String attribute, JsonNode value, boolean base, boolean admin) {
        if (!base) {
            if (attribute.length() > MAX_PROPERTY_LENGTH) {
                throw CatalogException.invalid("Custom property should not be greater than 255 characters.");
            }
            // A null a custom property's schema allows (kernel_id, ramdisk_id) reads as '' in
            // Glance's answers; so it is kept.
            String text = value.isNull() ? "" : value.asText();
            if (text.length() > MAX_PROPERTY_VALUE_LENGTH) {
                throw CatalogException.invalid("the value of image property '" + attribute + "' is longer than "
                        + MAX_PROPERTY_VALUE_LENGTH + " characters");
            }
            d.properties.put(attribute, text);
            return;
        }
        switch (attribute) {
            case "name" -> d.name = value.isNull() ? "" : value.asText();
            case "visibility" -> d.visibility = visibility(value.asText(), admin);
            case "protected" -> d.isProtected = value.asBoolean();
            case "os_hidden" -> d.hidden = value.asBoolean();
            case "min_ram" -> d.minRam = count(attribute, value, MAX_MIN_RAM_MIB);
            case "min_disk" -> d.minDisk = count(attribute, value, MAX_MIN_DISK_GIB);
            case "tags" -> {
                d.tags.clear();
                value.forEach(t -> d.tags.add(t.asText()));
            }
            case "owner" -> {
                String owner = required(attribute, value);
                if (!admin && !owner.equals(d.owner)) {
                    throw CatalogException.forbidden("Owner can't be updated by non admin.");
                }
                d.owner = owner;
            }
            case "disk_format" -> d.diskFormat = format(d, attribute, value);
            case "container_format" -> d.containerFormat = format(d, attribute, value);
            default -> throw new IllegalStateException("attribute " + attribute + " passed the checks unhandled");
        }
    }

    private static String visibility(String visibility, boolean admin) {
        if (visibility.equals("public") && !admin) {
            throw CatalogException.forbidden("Only admins may publish images (visibility public).");
        }
        // Without image members, a shared image is a private one.
        return visibility.equals("shared") ? "private" : visibility;
    }

    private static String format(Draft d, String attribute, JsonNode value) {
        if (!d.status.equals("queued")) {
            throw CatalogException.forbidden("Attribute " + attribute + " can be only replaced for a queued image.");
        }
        return required(attribute, value);
    }

    private static String required(String attribute, JsonNode value) {
        if (value.isNull()) {
            throw CatalogException.invalid("'" + attribute + "' cannot be null: every image here has one");
        }
        return value.asText();
    }

    private static long count(String attribute, JsonNode value, long max) {
        if (!value.canConvertToLong() || value.asLong() < 0) {
            throw CatalogException.invalid("Invalid value '" + value + "' for parameter '" + attribute
                    + "': Cannot be a negative value");
        }
        if (value.asLong() > max) {
            throw CatalogException.invalid("Invalid value '" + value + "' for parameter '" + attribute
                    + "': at most " + max);
        }
        return value.asLong();
    }

    /** The attributes a patch may change, as it changes them. */
    private static final class Draft {
        private final Image base;
        private final String status;
        private final Map<String, String> properties;
        private final Set<String> tags;
        private String name;
        private String owner;
        private String visibility;
        private String diskFormat;
        private String containerFormat;
        private long minRam;
        private long minDisk;
        private boolean isProtected;
        private boolean hidden;

        Draft(Image i) {
            base = i;
            status = i.status();
            properties = new TreeMap<>(i.properties());
            tags = new TreeSet<>(i.tags());
            name = i.name();
            owner = i.owner();
            visibility = i.visibility();
            diskFormat = i.diskFormat();
            containerFormat = i.containerFormat();
            minRam = i.minRamMib();
            minDisk = i.minDiskGib();
            isProtected = i.isProtected();
            hidden = i.hidden();
        }

        Image image() {
            List<String> t = new ArrayList<>(tags);
            return new Image(base.id(), name, owner, visibility, status, diskFormat, containerFormat, base.size(),
                    base.sha256(), minRam, minDisk, isProtected, hidden, properties, t, base.createdAt(),
                    base.updatedAt());
        }
    }
}
