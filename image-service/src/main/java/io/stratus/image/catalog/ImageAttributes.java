package io.stratus.image.catalog;

import io.stratus.image.store.Image;
import java.util.Set;

/** An image's attributes by Glance's names, for filters and sort keys: Glance's image table's columns. */
final class ImageAttributes {
    /** Glance's image columns a listing filters on (by equality, or by range where numeric). */
    static final Set<String> COLUMNS = Set.of("id", "name", "status", "visibility", "disk_format",
            "container_format", "size", "virtual_size", "min_ram", "min_disk", "owner", "protected", "os_hidden",
            "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at");
    /** The numeric ones, which take {@code _min} and {@code _max} filters. */
    static final Set<String> NUMERIC = Set.of("size", "virtual_size", "min_ram", "min_disk");

    private ImageAttributes() {
    }

    /** The value of column {@code attribute} of {@code i}; null where the image has none. */
    static Object value(Image i, String attribute) {
        return switch (attribute) {
            case "id" -> i.id();
            case "name" -> i.name();
            case "status" -> i.status();
            case "visibility" -> i.visibility();
            case "disk_format" -> i.diskFormat();
            case "container_format" -> i.containerFormat();
            case "size" -> i.size().orElse(null);
            case "min_ram" -> i.minRamMib();
            case "min_disk" -> i.minDiskGib();
            case "owner" -> i.owner();
            case "protected" -> i.isProtected();
            case "os_hidden" -> i.hidden();
            case "os_hash_algo" -> i.sha256().isPresent() ? "sha256" : null;
            case "os_hash_value" -> i.sha256().orElse(null);
            case "created_at" -> i.createdAt();
            case "updated_at" -> i.updatedAt();
            // Neither an md5 checksum nor a virtual size is computed here.
            case "checksum", "virtual_size" -> null;
            default -> throw new IllegalArgumentException("no image column " + attribute);
        };
    }

    /** The value of {@code attribute} as an ordered value (sort keys are columns of one type each). */
    @SuppressWarnings("unchecked")
    static Comparable<Object> comparable(Image i, String attribute) {
        return (Comparable<Object>) value(i, attribute);
    }
}
