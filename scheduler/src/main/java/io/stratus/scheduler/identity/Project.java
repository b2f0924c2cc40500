package io.stratus.scheduler.identity;

/** A tenant: the unit that owns servers and quotas. */
public record Project(String id, String name, String description) {
}
