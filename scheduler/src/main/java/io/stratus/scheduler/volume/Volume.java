package io.stratus.scheduler.volume;

import java.time.Instant;

/**
 * A volume as the store keeps it; its metadata and attachments are read beside it.
 *
 * @param sizeGb      Cinder's size, in GiB
 * @param sourceVolid the volume it was cloned from, or null; likewise snapshotId and imageId
 * @param readOnly    whether it is attached read-only; null until the flag is first set
 * @param fault       why the last operation failed, or null
 */
public record Volume(String id, String projectId, String userId, String name, String description, int sizeGb,
                     VolumeStatus status, String availabilityZone, String typeId, boolean bootable,
                     Boolean readOnly, boolean multiattach, String sourceVolid, String snapshotId, String imageId,
                     String fault, Instant createdAt, Instant updatedAt) {
    public boolean isReadOnly() {
        return Boolean.TRUE.equals(readOnly);
    }

    public long sizeBytes() {
        return (long) sizeGb << 30;
    }
}
