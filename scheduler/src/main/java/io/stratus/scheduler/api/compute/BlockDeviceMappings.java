package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.scheduler.volume.BlockDeviceMapping;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A server create's {@code block_device_mapping_v2}, read as Nova reads it (its API schema,
 * {@code BlockDeviceDict.from_api} and the boot sequence check of {@code _validate_bdm}), with
 * Nova's messages. What Stratus cannot honour (blank swap and ephemeral disks, other buses,
 * device tags, the legacy {@code block_device_mapping}) is refused, not dropped.
 *
 * @param volumes    the volumes the server gets (destination {@code volume}); the root first when it is one
 * @param volumeRoot whether the server boots from a volume (then it has no image)
 */
record BlockDeviceMappings(List<BlockDeviceMapping> volumes, boolean volumeRoot) {
    static final BlockDeviceMappings NONE = new BlockDeviceMappings(List.of(), false);
    private static final String FIELD = "block_device_mapping_v2";
    private static final Set<String> KNOWN = Set.of("source_type", "destination_type", "uuid", "boot_index",
            "volume_size", "delete_on_termination", "device_name", "guest_format", "disk_bus", "device_type", "tag",
            "volume_type", "no_device");
    private static final String INVALID = "Block Device Mapping is Invalid: ";
    private static final ObjectMapper JSON = new ObjectMapper();

    BlockDeviceMappings {
        volumes = List.copyOf(volumes);
    }

    /**
     * The mappings of server create body {@code server}.
     *
     * @param imageGiven whether the request names an image ({@code imageRef} present, as Nova asks)
     * @throws ApiException 400 for a mapping Nova refuses, or one Stratus cannot honour
     */
    static BlockDeviceMappings read(JsonNode server, boolean imageGiven) {
        JsonNode legacy = server.get("block_device_mapping");
        JsonNode v2 = server.get(FIELD);
        if (present(legacy) && present(v2)) {
            throw ApiException.badRequest("Using different block_device_mapping syntaxes is not allowed in the same"
                    + " request.");
        }
        if (present(legacy)) {
            throw ApiException.badRequest("The legacy 'block_device_mapping' is not supported by this cloud; use"
                    + " '" + FIELD + "'");
        }
        if (!present(v2)) {
            return NONE;
        }
        if (!v2.isArray()) {
            throw invalidInput(FIELD, v2, v2 + " is not of type 'array'");
        }
        List<BlockDeviceMapping> volumes = new ArrayList<>();
        List<Integer> bootIndexes = new ArrayList<>();
        for (JsonNode m : v2) {
            if (!m.isObject()) {
                throw invalidInput(FIELD, m, m + " is not of type 'object'");
            }
            for (Iterator<String> names = m.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!KNOWN.contains(name)) {
                    throw invalidInput(FIELD, m, "Additional properties are not allowed ('" + name
                            + "' was unexpected)");
                }
            }
            if (Json.optionalBoolean(m, "no_device", false)) {
                // Nova's no_device suppresses a device of the image's own mappings, which Stratus has none of.
                continue;
            }
            String source = oneOf(m, "source_type", Set.of("volume", "image", "snapshot", "blank"))
                    .orElseThrow(() -> ApiException.badRequest(INVALID + "source_type is required."));
            Optional<String> uuid = Json.optionalString(m, "uuid", 255);
            Optional<String> destination = oneOf(m, "destination_type", Set.of("local", "volume"));
            Optional<String> volumeType = Json.optionalString(m, "volume_type", 255);
            int bootIndex = (int) Json.optionalInteger(m, "boot_index", Integer.MIN_VALUE, Integer.MAX_VALUE, -1);
            if (source.equals("blank")) {
                if (uuid.isPresent()) {
                    throw ApiException.badRequest(INVALID + "Invalid device UUID.");
                }
                throw ApiException.badRequest(INVALID + "blank volumes, swap and ephemeral disks (source_type"
                        + " 'blank') are not supported by this cloud.");
            }
            if (uuid.isEmpty()) {
                throw ApiException.badRequest(INVALID + "Missing device UUID.");
            }
            String dest = destination.orElse(source.equals("image") ? "local" : "volume");
            if (source.equals("image") && dest.equals("local")) {
                // Allowed only as the image's own root disk, as a client writes it for --image.
                if (!(imageGiven && bootIndex == 0)) {
                    throw ApiException.badRequest(INVALID + "Mapping image to local is not supported.");
                }
                bootIndexes.add(bootIndex);
                continue;
            }
            if (dest.equals("local")) {
                throw ApiException.badRequest(INVALID + "a " + source + " goes to destination_type 'volume', not"
                        + " 'local'.");
            }
            if (source.equals("volume") && volumeType.isPresent()) {
                throw ApiException.badRequest(INVALID + "Specifying volume type to existing volume is not"
                        + " supported.");
            }
            oneOf(m, "disk_bus", Set.of("virtio"));
            oneOf(m, "device_type", Set.of("disk"));
            if (present(m.get("tag"))) {
                throw ApiException.badRequest(INVALID + "device tags are not supported by this cloud.");
            }
            if (present(m.get("guest_format"))) {
                throw ApiException.badRequest(INVALID + "guest_format applies to blank disks, which this cloud"
                        + " does not make.");
            }
            Optional<Integer> size = m.hasNonNull("volume_size")
                    ? Optional.of((int) Json.integer(m, "volume_size", 1, Integer.MAX_VALUE)) : Optional.empty();
            if (bootIndex >= 0) {
                bootIndexes.add(bootIndex);
            }
            volumes.add(new BlockDeviceMapping(BlockDeviceMapping.Source.valueOf(source.toUpperCase(
                    java.util.Locale.ROOT)), uuid.get(), bootIndex < 0 ? -1 : bootIndex, size,
                    Json.optionalBoolean(m, "delete_on_termination", false),
                    Json.optionalString(m, "device_name", 255), volumeType));
        }
        if (imageGiven && !bootIndexes.contains(0)) {
            // Nova puts the image's root disk first when no mapping is the root.
            bootIndexes.add(0);
        }
        List<Integer> sorted = bootIndexes.stream().sorted().toList();
        for (int i = 0; i < sorted.size(); i++) {
            if (sorted.get(i) != i) {
                throw bootSequence();
            }
        }
        if (sorted.isEmpty()) {
            throw bootSequence();
        }
        boolean volumeRoot = volumes.stream().anyMatch(BlockDeviceMapping::root);
        List<BlockDeviceMapping> ordered = new ArrayList<>(volumes.stream().filter(BlockDeviceMapping::root).toList());
        ordered.addAll(volumes.stream().filter(v -> !v.root()).toList());
        return new BlockDeviceMappings(ordered, volumeRoot);
    }

    /**
     * The mappings of a create whose image names volume snapshots (the image of a volume-backed
     * server's createImage: {@code bdm_v2} and a {@code block_device_mapping} with a root, as
     * Nova's {@code _get_image_defined_bdms} reads them): its root and other volumes are made from
     * the snapshots, and the request's own volumes follow unless they name the same device (the
     * request's win, as Nova merges them). Empty when the image names none, or the request has a
     * root volume of its own: then the image is booted as it is.
     *
     * @throws ApiException 400 for an image mapping Stratus cannot honour
     */
    static Optional<BlockDeviceMappings> ofImage(Map<String, String> imageProperties, BlockDeviceMappings requested) {
        String json = imageProperties.get("block_device_mapping");
        if (json == null || !Boolean.parseBoolean(imageProperties.getOrDefault("bdm_v2", "false"))
                || requested.volumeRoot()) {
            return Optional.empty();
        }
        JsonNode defined;
        try {
            defined = JSON.readTree(json);
        } catch (IOException e) {
            throw ApiException.badRequest(INVALID + "the image's block_device_mapping is not JSON: " + e.getMessage());
        }
        List<BlockDeviceMapping> fromImage = new ArrayList<>();
        for (JsonNode m : defined) {
            if (!m.path("source_type").asText().equals("snapshot") || !m.path("destination_type").asText()
                    .equals("volume") || !m.path("snapshot_id").isTextual()) {
                throw ApiException.badRequest(INVALID + "the image maps " + m + "; this cloud boots an image's"
                        + " mappings of volume snapshots only.");
            }
            fromImage.add(new BlockDeviceMapping(BlockDeviceMapping.Source.SNAPSHOT, m.get("snapshot_id").asText(),
                    m.path("boot_index").asInt(-1) == 0 ? 0 : -1,
                    m.path("volume_size").canConvertToInt() && m.path("volume_size").asInt() > 0
                            ? Optional.of(m.path("volume_size").asInt()) : Optional.empty(),
                    m.path("delete_on_termination").asBoolean(false),
                    m.path("device_name").isTextual() ? Optional.of(m.get("device_name").asText()) : Optional.empty(),
                    m.path("volume_type").isTextual() ? Optional.of(m.get("volume_type").asText()) : Optional.empty()));
        }
        if (fromImage.stream().noneMatch(BlockDeviceMapping::root)) {
            return Optional.empty();
        }
        List<BlockDeviceMapping> merged = new ArrayList<>(fromImage.stream().filter(BlockDeviceMapping::root).toList());
        Set<String> requestedDevices = new HashSet<>();
        requested.volumes().forEach(v -> v.deviceName().ifPresent(requestedDevices::add));
        fromImage.stream().filter(v -> !v.root() && v.deviceName().filter(requestedDevices::contains).isEmpty())
                .forEach(merged::add);
        merged.addAll(requested.volumes());
        return Optional.of(new BlockDeviceMappings(merged, true));
    }

    private static ApiException bootSequence() {
        return ApiException.badRequest(INVALID + "Boot sequence for the instance and image/block device mapping"
                + " combination is not valid.");
    }

    private static Optional<String> oneOf(JsonNode m, String name, Set<String> allowed) {
        JsonNode n = m.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual() || !allowed.contains(n.asText())) {
            throw invalidInput(name, n, n + " is not one of " + allowed.stream().sorted().toList()
                    + (allowed.size() == 1 ? " (the only one this cloud supports)" : ""));
        }
        return Optional.of(n.asText());
    }

    private static ApiException invalidInput(String field, JsonNode value, String why) {
        return ApiException.badRequest("Invalid input for field/attribute " + field + ". Value: " + value + ". "
                + why);
    }

    private static boolean present(JsonNode n) {
        return n != null && !n.isNull() && !(n.isContainerNode() && n.isEmpty());
    }
}
