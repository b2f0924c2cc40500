package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ProviderUsage;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * What the scheduler knows of a host when it chooses: its placement view, when it last reported
 * (from {@code stratus.hosts}), where it is, and what runs on it.
 *
 * @param lastReport when its latest {@code HostReport} was published; empty if it never reported
 * @param images the images of the instances on the host (their memory may merge with KSM)
 * @param instances the instances on the host (server-group policies)
 */
public record HostState(ProviderUsage usage, Optional<Instant> lastReport, String availabilityZone,
                        Set<String> images, Set<String> instances) {
    public HostState {
        images = Set.copyOf(images);
        instances = Set.copyOf(instances);
    }

    public String name() {
        return usage.name();
    }
}
