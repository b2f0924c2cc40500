package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.scheduler.compute.UserData;
import io.stratus.scheduler.image.Image;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What a create gives a guest's cloud-init, read as Nova's create schema
 * ({@code schemas/servers.py}) and compute API ({@code _check_config_drive},
 * {@code configdrive.required_by}) read it: {@code user_data} and {@code config_drive}, and the
 * image's {@code img_config_drive}.
 */
final class CloudInitFields {
    /** The words Nova's API takes for a boolean ({@code parameter_types.boolean}), in lower case. */
    private static final Set<String> TRUE = Set.of("true", "1", "on", "yes");
    private static final Set<String> FALSE = Set.of("false", "0", "off", "no");

    private CloudInitFields() {
    }

    /** The request's {@code user_data} as Nova takes it: base64 of at most 65535 characters, kept as given. */
    static Optional<String> userData(JsonNode s) {
        JsonNode v = s.get("user_data");
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest("Invalid input for field/attribute user_data: it must be a string of base64");
        }
        try {
            UserData.decode(v.asText());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("Invalid input for field/attribute user_data: it is not base64 of at most "
                    + UserData.MAX_LENGTH + " characters (" + e.getMessage() + ")");
        }
        return Optional.of(v.asText());
    }

    /** The request's {@code config_drive}: a boolean, or one of the strings Nova takes for one. */
    static boolean configDrive(JsonNode s) {
        JsonNode v = s.get("config_drive");
        if (v == null || v.isNull()) {
            return false;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        // Nova's enum: each word in lower case, capitalised or upper case.
        String text = v.isTextual() ? v.asText() : "";
        String lower = text.toLowerCase(Locale.ROOT);
        boolean spelled = text.equals(lower) || text.equals(lower.toUpperCase(Locale.ROOT))
                || (!lower.isEmpty() && text.equals(Character.toUpperCase(lower.charAt(0)) + lower.substring(1)));
        if (spelled && TRUE.contains(lower)) {
            return true;
        }
        if (spelled && FALSE.contains(lower)) {
            return false;
        }
        throw ApiException.badRequest("Invalid input for field/attribute config_drive: " + v + " is not a boolean"
                + " (true or false)");
    }

    /**
     * Whether the image asks for a config drive (its {@code img_config_drive} property
     * {@code mandatory}, as Nova's configdrive.required_by reads it); a value other than
     * {@code optional} or {@code mandatory} is Nova's InvalidImageConfigDrive.
     */
    static boolean imageWantsConfigDrive(Image image) {
        String option = image.properties().getOrDefault("img_config_drive", "optional");
        if (!option.equals("optional") && !option.equals("mandatory")) {
            throw ApiException.badRequest("Image's config drive option '" + option + "' is invalid");
        }
        return option.equals("mandatory");
    }
}
