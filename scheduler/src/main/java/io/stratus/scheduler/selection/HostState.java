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
 * @param hardwareVirtualization whether the host's KVM runs guests in hardware (VMX/SVM), which
 *     some images need (Debian's stock kernel cannot boot where guest kernel code is emulated)
 */
public record HostState(ProviderUsage usage, Optional<Instant> lastReport, String availabilityZone,
                        Set<String> images, Set<String> instances, boolean hardwareVirtualization) {
    public HostState {
        images = Set.copyOf(images);
        instances = Set.copyOf(instances);
    }

    /** A host that does not run guests in hardware virtualization (or has not said). */
    public HostState(ProviderUsage usage, Optional<Instant> lastReport, String availabilityZone, Set<String> images,
                     Set<String> instances) {
        this(usage, lastReport, availabilityZone, images, instances, false);
    }

    public String name() {
        return usage.name();
    }
}
