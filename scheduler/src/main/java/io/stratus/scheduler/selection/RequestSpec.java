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
 */
public record RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                          String imageId, Optional<ServerGroup> serverGroup, Map<String, String> imageProperties) {
    public RequestSpec {
        imageProperties = Map.copyOf(imageProperties);
    }

    /** A request whose image asks nothing of the host. */
    public RequestSpec(String instanceId, ResourceRequest resources, Optional<String> availabilityZone,
                       String imageId, Optional<ServerGroup> serverGroup) {
        this(instanceId, resources, availabilityZone, imageId, serverGroup, Map.of());
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
