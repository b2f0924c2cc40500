package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ProviderUsage;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * What the scheduler knows of a host when it chooses: its placement view, when it last reported
 * (from {@code stratus.hosts}), where it is, what runs on it, and its hypervisor driver.
 *
 * @param lastReport when its latest {@code HostReport} was published; empty if it never reported
 * @param images the images of the instances on the host (their memory may merge with KSM)
 * @param instances the instances on the host (server-group policies)
 * @param hardwareVirtualization whether the host's KVM runs guests in hardware (VMX/SVM), which
 *     some images need (Debian's stock kernel cannot boot where guest kernel code is emulated)
 * @param hypervisor the driver that runs the host's guests and what it can do (its traits)
 * @param disabledByAgent why the host's agent says no guest can run there (its report's
 *     {@code disabled_reason} with {@code enabled = false}); empty when the agent has no objection.
 *     The operator's switch is placement's ({@link ProviderUsage#disabled()}), apart from this.
 */
public record HostState(ProviderUsage usage, Optional<Instant> lastReport, String availabilityZone,
                        Set<String> images, Set<String> instances, boolean hardwareVirtualization,
                        Hypervisor hypervisor, Optional<String> disabledByAgent) {
    public HostState {
        images = Set.copyOf(images);
        instances = Set.copyOf(instances);
    }

    /** A host of today's KVM agent that has no objection to guests. */
    public HostState(ProviderUsage usage, Optional<Instant> lastReport, String availabilityZone, Set<String> images,
                     Set<String> instances, boolean hardwareVirtualization) {
        this(usage, lastReport, availabilityZone, images, instances, hardwareVirtualization, Hypervisor.LEGACY_KVM,
                Optional.empty());
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
