package io.stratus.scheduler.network;

import java.util.List;

/** Prefixes subnets are carved from when they name the pool and a prefix length instead of a CIDR. */
public record SubnetPool(String id, String projectId, String name, String description, int ipVersion,
                         List<Cidr> prefixes, int defaultPrefixlen, int minPrefixlen, int maxPrefixlen,
                         boolean shared, boolean isDefault, Revision revision) {
    public SubnetPool {
        prefixes = List.copyOf(prefixes);
    }
}
