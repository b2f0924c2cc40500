package io.stratus.scheduler.selection;

import java.time.Clock;
import java.time.Duration;
import java.util.function.BiPredicate;

/** The scheduler's filters, after Nova's of the same names. */
public final class Filters {
    private Filters() {
    }

    /** Hosts that reported within {@code downAfter} and are enabled (Nova's ComputeFilter). */
    public static HostFilter alive(Clock clock, Duration downAfter) {
        return named("ComputeFilter", (host, request) -> !host.usage().disabled() && host.lastReport()
                .map(t -> !t.isBefore(clock.instant().minus(downAfter))).orElse(false));
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
