package io.stratus.image.api;

import io.stratus.image.store.Image;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/** An image as Glance shows it: its attributes, its properties beside them, its links. */
final class ImageView {
    private ImageView() {
    }

    static Map<String, Object> of(Image i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("name", i.name());
        m.put("status", i.status());
        m.put("visibility", i.visibility());
        m.put("owner", i.owner());
        m.put("disk_format", i.diskFormat());
        m.put("container_format", i.containerFormat());
        m.put("size", i.size().orElse(null));
        m.put("virtual_size", null);
        m.put("checksum", null);
        m.put("os_hash_algo", i.sha256().isPresent() ? "sha256" : null);
        m.put("os_hash_value", i.sha256().orElse(null));
        m.put("min_ram", i.minRamMib());
        m.put("min_disk", i.minDiskGib());
        m.put("protected", i.isProtected());
        m.put("os_hidden", i.hidden());
        m.put("tags", i.tags());
        i.properties().forEach(m::putIfAbsent);
        m.put("created_at", i.createdAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("updated_at", i.updatedAt().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("self", "/v2/images/" + i.id());
        m.put("file", "/v2/images/" + i.id() + "/file");
        m.put("schema", "/v2/schemas/image");
        return m;
    }
}
