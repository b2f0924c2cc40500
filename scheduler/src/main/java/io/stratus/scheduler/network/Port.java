package io.stratus.scheduler.network;

import java.util.List;
import java.util.Optional;

/**
 * A port: a NIC's place on a network, with its MAC, fixed IPs and security groups, and where it is
 * bound ({@code hostId}, empty when unbound).
 */
public record Port(String id, String networkId, String projectId, String name, String description, String macAddress,
                   boolean adminStateUp, String deviceId, String deviceOwner, String hostId, String vnicType,
                   boolean portSecurityEnabled, List<FixedIp> fixedIps, List<String> securityGroups,
                   List<AddressPair> allowedAddressPairs, boolean madeForServer, Revision revision) {
    /** The device_owner of ports a server's boot made. */
    public static final String COMPUTE_OWNER = "compute:nova";
    /** The device_owner of a network's DHCP server port on a host. */
    public static final String DHCP_OWNER = "network:dhcp";

    public Port {
        fixedIps = List.copyOf(fixedIps);
        securityGroups = List.copyOf(securityGroups);
        allowedAddressPairs = List.copyOf(allowedAddressPairs);
    }

    public boolean bound() {
        return !hostId.isEmpty();
    }

    /** Neutron's binding:vif_type: how the host plugs it (a TAP on a bridge), or unbound. */
    public String vifType() {
        return bound() ? "tap" : "unbound";
    }

    /** The host-side device, named as Neutron names it. */
    public String tap() {
        return "tap" + id.substring(0, Math.min(11, id.length()));
    }

    public Optional<FixedIp> firstIp() {
        return fixedIps.stream().findFirst();
    }

    public record FixedIp(String subnetId, String ipAddress) {
    }

    /** A further address (or prefix) the port may send from, with its MAC or the port's own. */
    public record AddressPair(String ipAddress, String macAddress) {
    }
}
