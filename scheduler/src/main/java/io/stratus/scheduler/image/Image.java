package io.stratus.scheduler.image;

import java.util.Map;

/**
 * An image as the scheduler needs it: what a server boots. A disk image may name a kernel and
 * ramdisk image for direct kernel boot (Glance's {@code kernel_id}/{@code ramdisk_id}
 * properties), with the kernel command line in {@code os_command_line}.
 *
 * @param status queued (no data yet), saving (upload running), active, killed (upload failed)
 * @param kernelId empty when the image boots without a separate kernel
 * @param properties the properties beyond Glance's core fields (architecture, kernel_id...)
 */
public record Image(String id, String name, String owner, String visibility, String status, String diskFormat,
                    String containerFormat, long size, String sha256, long minRamMib, long minDiskGib,
                    String kernelId, String ramdiskId, String osCommandLine, Map<String, String> properties) {
    public Image {
        properties = Map.copyOf(properties);
    }

    /** Whether project {@code projectId} may boot it: its own, public and community images. */
    public boolean visibleTo(String projectId) {
        return owner.equals(projectId) || visibility.equals("public") || visibility.equals("community");
    }
}
