package io.stratus.scheduler.selection;

import java.time.Clock;
import java.time.Duration;

/** The scheduler's filters, after Nova's of the same names. */
public final class Filters {
    private Filters() {
    }

    /** Hosts that reported within {@code downAfter} and are enabled (Nova's ComputeFilter). */
    public static HostFilter alive(Clock clock, Duration downAfter) {
        return new HostFilter() {
            @Override
            public boolean passes(HostState host, RequestSpec request) {
                return !host.usage().disabled() && host.lastReport()
                        .map(t -> !t.isBefore(clock.instant().minus(downAfter))).orElse(false);
            }

            @Override
            public String name() {
                return "ComputeFilter";
            }
        };
    }

    /** Hosts where the requested resources fit now. */
    public static HostFilter resources() {
        return new HostFilter() {
            @Override
            public boolean passes(HostState host, RequestSpec request) {
                return host.usage().fits(request.resources());
            }

            @Override
            public String name() {
                return "ResourceFilter";
            }
        };
    }

    /** Hosts in the requested availability zone (all hosts when none is asked for). */
    public static HostFilter availabilityZone() {
        return new HostFilter() {
            @Override
            public boolean passes(HostState host, RequestSpec request) {
                return request.availabilityZone().map(z -> z.equals(host.availabilityZone())).orElse(true);
            }

            @Override
            public String name() {
                return "AvailabilityZoneFilter";
            }
        };
    }

    /**
     * Server groups: affinity keeps the instance with the group's members (any host while the
     * group is empty), anti-affinity keeps it away from every host that runs a member.
     */
    public static HostFilter serverGroup() {
        return new HostFilter() {
            @Override
            public boolean passes(HostState host, RequestSpec request) {
                return request.serverGroup().map(g -> {
                    boolean hostsMember = g.members().stream().anyMatch(host.instances()::contains);
                    return g.policy() == RequestSpec.Policy.AFFINITY
                            ? hostsMember || g.members().isEmpty() : !hostsMember;
                }).orElse(true);
            }

            @Override
            public String name() {
                return "ServerGroupFilter";
            }
        };
    }
}
