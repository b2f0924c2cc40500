package io.stratus.scheduler.image;

import java.time.Instant;
import java.util.Map;

/**
 * An image record: what a server boots. A disk image may name a kernel and ramdisk image for
 * direct kernel boot (Glance's {@code kernel_id}/{@code ramdisk_id} properties), with the kernel
 * command line in {@code os_command_line}.
 *
 * @param status queued (no data yet), saving (upload running), active, killed (upload failed)
 * @param kernelId empty when the image boots without a separate kernel
 * @param properties the other properties clients set (Glance's additional properties)
 */
public record Image(String id, String name, String owner, String visibility, String status, String diskFormat,
                    String containerFormat, long size, String sha256, long minRamMib, long minDiskGib,
                    String kernelId, String ramdiskId, String osCommandLine, Map<String, String> properties,
                    Instant createdAt, Instant updatedAt) {
    public Image {
        properties = Map.copyOf(properties);
    }

    public boolean isPublic() {
        return visibility.equals("public");
    }
}
