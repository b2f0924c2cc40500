package io.stratus.scheduler.network;

import java.util.Optional;

/**
 * A network (Neutron's): a layer-2 segment a host carries as a bridge, joined to other hosts by
 * VXLAN with the segmentation id as VNI, or to a host interface when flat.
 */
public record Network(String id, String projectId, String name, String description, boolean adminStateUp,
                      boolean shared, boolean external, NetworkType type, Optional<Integer> segmentationId,
                      Optional<String> physicalNetwork, int mtu, boolean portSecurityEnabled, Revision revision) {
    /** Whether {@code projectId} may see the network (its own, shared or external). */
    public boolean visibleTo(String project) {
        return projectId.equals(project) || shared || external;
    }
}
