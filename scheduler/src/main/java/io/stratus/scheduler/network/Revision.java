package io.stratus.scheduler.network;

import java.time.Instant;

/** Neutron's standard attributes every resource carries: its times and revision number. */
public record Revision(Instant createdAt, Instant updatedAt, long number) {
    public static Revision first(Instant now) {
        return new Revision(now, now, 0);
    }
}
