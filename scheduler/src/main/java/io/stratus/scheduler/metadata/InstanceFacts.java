package io.stratus.scheduler.metadata;

import io.stratus.scheduler.compute.Server;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the metadata layouts tell a guest about its instance, read once per request (Nova's
 * {@code InstanceMetadata} gathers the same at construction).
 *
 * @param metadata the server's own key/value metadata
 * @param flavorName the flavor's name (EC2's instance-type)
 * @param securityGroups the names of the groups its ports are in
 * @param nics its ports, for network_data.json and EC2's local-ipv4
 * @param password what the guest posted to {@code password}, if anything
 */
public record InstanceFacts(Server server, Map<String, String> metadata, String flavorName,
                            List<String> securityGroups, List<NetworkData.Nic> nics, Optional<String> password) {
    public InstanceFacts {
        metadata = Map.copyOf(metadata);
        securityGroups = List.copyOf(securityGroups);
        nics = List.copyOf(nics);
    }

    /** The instance's fixed IPv4 addresses, NIC by NIC (EC2's local-ipv4 is the first). */
    List<String> fixedIpv4() {
        return nics.stream().flatMap(n -> n.subnets().stream()).filter(s -> s.subnet().ipVersion() == 4)
                .flatMap(s -> s.ips().stream()).toList();
    }
}
