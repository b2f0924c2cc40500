package io.stratus.scheduler.volume;

import java.time.Instant;

/** A point-in-time copy of a volume ({@code status}: creating, available, deleting, error, error_deleting). */
public record Snapshot(String id, String projectId, String userId, String volumeId, String name, String description,
                       int sizeGb, String status, String fault, Instant createdAt, Instant updatedAt) {
    public static final String CREATING = "creating";
    public static final String AVAILABLE = "available";
    public static final String DELETING = "deleting";
    public static final String ERROR = "error";
    public static final String ERROR_DELETING = "error_deleting";
}
