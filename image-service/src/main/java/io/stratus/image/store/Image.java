package io.stratus.image.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * An image record.
 *
 * @param status {@code queued} (no data yet), {@code saving} (an upload runs), {@code active}
 *     (data stored and verified), {@code killed} (the data could not be stored), {@code deleted}
 * @param size the data's size once active
 * @param sha256 the data's digest once active: the key of its blob
 * @param hidden Glance's {@code os_hidden}: left out of listings unless asked for
 * @param properties the other properties: {@code kernel_id}, {@code ramdisk_id},
 *     {@code os_command_line}, {@code architecture}, ...
 * @param tags Glance's tags, a set (kept sorted)
 */
public record Image(String id, String name, String owner, String visibility, String status, String diskFormat,
                    String containerFormat, Optional<Long> size, Optional<String> sha256, long minRamMib,
                    long minDiskGib, boolean isProtected, boolean hidden, Map<String, String> properties,
                    List<String> tags, Instant createdAt, Instant updatedAt) {
    public Image {
        properties = Map.copyOf(properties);
        tags = List.copyOf(new TreeSet<>(tags));
    }

    /** Whether a project may see it: its own, public and community images. */
    public boolean visibleTo(String projectId) {
        return owner.equals(projectId) || visibility.equals("public") || visibility.equals("community");
    }

    /** This image with {@code tags} instead of its own. */
    public Image withTags(Collection<String> tags) {
        return new Image(id, name, owner, visibility, status, diskFormat, containerFormat, size, sha256, minRamMib,
                minDiskGib, isProtected, hidden, properties, List.copyOf(tags), createdAt, updatedAt);
    }
}
