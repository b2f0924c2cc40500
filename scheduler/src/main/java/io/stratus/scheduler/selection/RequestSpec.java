package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ResourceRequest;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One boot request as the filters and weighers see it.
 *
 * @param availabilityZone the zone the tenant asked for, if any
 * @param imageId the image the guest boots (the KSM weigher prefers hosts already running it)
 * @param serverGroup the server group the instance joins, if any
 * @param imageProperties the image's properties ({@code architecture}, {@code hypervisor_type}, ...)
 * @param requiredTraits what the host's hypervisor driver must be able to do (Placement traits,
 *     such as {@link Hypervisor#LIVE_MIGRATION} for a live migration's target)
 * @param forbiddenTraits what the host's driver must not have (Placement's {@code required=!TRAIT}),
 *     such as another driver than a live migration's source runs
 */
public record RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                          String imageId, Optional<ServerGroup> serverGroup, Map<String, String> imageProperties,
                          Set<String> requiredTraits, Set<String> forbiddenTraits) {
    public RequestSpec {
        imageProperties = Map.copyOf(imageProperties);
        requiredTraits = Set.copyOf(requiredTraits);
        forbiddenTraits = Set.copyOf(forbiddenTraits);
    }

    /** A request that forbids no trait. */
    public RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                       String imageId, Optional<ServerGroup> serverGroup, Map<String, String> imageProperties,
                       Set<String> requiredTraits) {
        this(instanceId, resources, availabilityZone, imageId, serverGroup, imageProperties, requiredTraits, Set.of());
    }

    /** A request that needs no trait of the host. */
    public RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                       String imageId, Optional<ServerGroup> serverGroup, Map<String, String> imageProperties) {
        this(instanceId, resources, availabilityZone, imageId, serverGroup, imageProperties, Set.of());
    }

    /** A request whose image asks nothing of the host. */
    public RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                       String imageId, Optional<ServerGroup> serverGroup) {
        this(instanceId, resources, availabilityZone, imageId, serverGroup, Map.of());
    }

    /** This request, needing {@code traits} of the host too. */
    public RequestSpec requiring(Set<String> traits) {
        return new RequestSpec(instanceId, resources, availabilityZone, imageId, serverGroup, imageProperties, traits,
                forbiddenTraits);
    }

    /** This request, on hosts without any of {@code traits}. */
    public RequestSpec forbidding(Set<String> traits) {
        return new RequestSpec(instanceId, resources, availabilityZone, imageId, serverGroup, imageProperties,
                requiredTraits, traits);
    }

    /** An affinity or anti-affinity group and the instances already in it. */
    public record ServerGroup(Policy policy, Set<String> members) {
        public ServerGroup {
            members = Set.copyOf(members);
        }
    }

    /** Nova's server-group policies. */
    public enum Policy {
        AFFINITY,
        ANTI_AFFINITY
    }
}
