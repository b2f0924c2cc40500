package io.stratus.scheduler.volume;

import java.time.Instant;

/** A volume type; the only extra spec Stratus acts on is {@code multiattach}. */
public record VolumeType(String id, String name, String description, boolean isPublic, boolean multiattach,
                         Instant createdAt) {
    public static final String DEFAULT_NAME = "__DEFAULT__";
}
