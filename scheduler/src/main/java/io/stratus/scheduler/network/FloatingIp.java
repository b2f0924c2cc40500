package io.stratus.scheduler.network;

import java.util.Optional;

/**
 * A floating IP: an address on an external network ({@code floatingPortId} holds it), associated
 * or not with a fixed address of a tenant port, behind the router that reaches that port's subnet.
 */
public record FloatingIp(String id, String projectId, String description, String floatingNetworkId,
                         String floatingPortId, String floatingIpAddress, Optional<String> portId,
                         Optional<String> fixedIpAddress, Optional<String> routerId, Revision revision) {
    /** The device_owner of the port that holds a floating IP's address. */
    public static final String OWNER = "network:floatingip";

    public boolean associated() {
        return portId.isPresent();
    }
}
