package io.stratus.scheduler.selection;

import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;

/** The scheduler's filters, after Nova's of the same names. */
public final class Filters {
    /** The name {@link #requiredTraits()} has in decisions. */
    public static final String TRAITS_FILTER = "TraitsFilter";

    private Filters() {
    }

    /**
     * Hosts that reported within {@code downAfter} and are enabled (Nova's ComputeFilter): neither
     * the operator disabled them nor their agent reports that no guest can run there.
     */
    public static HostFilter alive(Clock clock, Duration downAfter) {
        return named("ComputeFilter", (host, request) -> !host.usage().disabled() && host.disabledByAgent().isEmpty()
                && host.lastReport().map(t -> !t.isBefore(clock.instant().minus(downAfter))).orElse(false));
    }

    /**
     * Hosts whose hypervisor driver has every trait the request requires and none it forbids (what
     * Nova asks of Placement with {@code required=} and {@code required=!}): a live migration's
     * target must be able to receive one, from a source of its own driver.
     */
    public static HostFilter requiredTraits() {
        return named(TRAITS_FILTER, (host, request) -> host.hypervisor().traits()
                .containsAll(request.requiredTraits())
                && request.forbiddenTraits().stream().noneMatch(host.hypervisor()::has));
    }

    /** Hosts where the requested resources fit now. */
    public static HostFilter resources() {
        return named("ResourceFilter", (host, request) -> host.usage().fits(request.resources()));
    }

    /** Hosts in the requested availability zone (all hosts when none is asked for). */
    public static HostFilter availabilityZone() {
        return named("AvailabilityZoneFilter", (host, request) -> request.availabilityZone()
                .map(z -> z.equals(host.availabilityZone())).orElse(true));
    }

    /**
     * Server groups: affinity keeps the instance with the group's members (any host while the
     * group is empty), anti-affinity keeps it away from every host that runs a member.
     */
    public static HostFilter serverGroup() {
        return named("ServerGroupFilter", (host, request) -> request.serverGroup().map(g -> {
            boolean hostsMember = g.members().stream().anyMatch(host.instances()::contains);
            return g.policy() == RequestSpec.Policy.AFFINITY ? hostsMember || g.members().isEmpty() : !hostsMember;
        }).orElse(true));
    }

    /** The architecture every host has: kvm-runtime runs x86-64 guests only. */
    private static final Set<String> ARCHITECTURES = Set.of("x86_64", "x86-64", "amd64");

    /**
     * Hosts that can run the image (Nova's ImagePropertiesFilter): its {@code architecture}, when
     * set, must be x86-64; its {@code hypervisor_type} (or {@code img_hv_type}), when set, must
     * name the host's own driver ("kvm" or "qemu", any case; see {@link Hypervisor#runs}); and
     * {@code stratus_hardware_virtualization=required} keeps images that cannot boot under an
     * emulated kernel mode off hosts without VMX/SVM.
     */
    public static HostFilter imageProperties() {
        return named("ImagePropertiesFilter", (host, request) -> {
            Map<String, String> p = request.imageProperties();
            String arch = p.get("architecture");
            if (arch != null && !ARCHITECTURES.contains(arch.toLowerCase(Locale.ROOT))) {
                return false;
            }
            String hv = p.getOrDefault("hypervisor_type", p.get("img_hv_type"));
            if (hv != null && !host.hypervisor().runs(hv)) {
                return false;
            }
            return !"required".equalsIgnoreCase(p.get("stratus_hardware_virtualization"))
                    || host.hardwareVirtualization();
        });
    }

    private static HostFilter named(String name, BiPredicate<HostState, RequestSpec> test) {
        return new HostFilter() {
            @Override
            public boolean passes(HostState host, RequestSpec request) {
                return test.test(host, request);
            }

            @Override
            public String name() {
                return name;
            }
        };
    }
}
