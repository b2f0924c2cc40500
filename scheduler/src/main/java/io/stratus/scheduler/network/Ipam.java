package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Gives a port its addresses: the first free one of a subnet's allocation pools (the gateway,
 * network and broadcast addresses are never in a pool), or the one asked for. Taking an address is
 * inserting its {@code ip_allocation} row: the key on (network, address) lets only one of two
 * racing requests, on any replica, have it; the loser of a race for a free address picks again
 * (its whole transaction is retried), and a loser for an asked address is refused.
 */
final class Ipam {
    private Ipam() {
    }

    /** Takes {@code address} on {@code subnet} for {@code portId}; 409 IpAddressAlreadyAllocated when taken. */
    static void take(Sql tx, Subnet subnet, IpAddress address, String portId) {
        if (!subnet.cidr().contains(address)) {
            throw new NetworkException(NetworkException.Kind.INVALID, "InvalidIpForSubnet", "IP address " + address
                    + " is not a valid IP for the specified subnet.");
        }
        if (subnet.gateway().filter(address::equals).isPresent()) {
            throw conflict(subnet, address);
        }
        try {
            tx.update("INSERT INTO ip_allocation (network_id, ip_address, subnet_id, port_id) VALUES (?, ?, ?, ?)",
                    subnet.networkId(), address.toString(), subnet.id(), portId);
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                throw conflict(subnet, address);
            }
            throw e;
        }
    }

    /**
     * Takes the subnet's gateway address for a router's interface port (the one port that may
     * hold it); 409 IpAddressAlreadyAllocated when another router has it.
     */
    static void takeGateway(Sql tx, Subnet subnet, IpAddress gateway, String portId) {
        try {
            tx.update("INSERT INTO ip_allocation (network_id, ip_address, subnet_id, port_id) VALUES (?, ?, ?, ?)",
                    subnet.networkId(), gateway.toString(), subnet.id(), portId);
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                throw conflict(subnet, gateway);
            }
            throw e;
        }
    }

    private static NetworkException conflict(Subnet subnet, IpAddress address) {
        return NetworkException.conflict("IpAddressAlreadyAllocated", "IP address " + address + " already allocated"
                + " in subnet " + subnet.id());
    }

    /** Takes the first free address of {@code subnet}'s pools; empty when the pools are full. */
    static Optional<IpAddress> takeFirstFree(Sql tx, Subnet subnet, String portId) {
        Set<String> taken = new HashSet<>(tx.list("SELECT ip_address FROM ip_allocation WHERE network_id = ?",
                r -> r.getString(1), subnet.networkId()));
        for (Subnet.AddressRange pool : subnet.allocationPools()) {
            for (IpAddress a = pool.start(); a.compareTo(pool.end()) <= 0; a = a.plus(1)) {
                if (!taken.contains(a.toString()) && subnet.gateway().filter(a::equals).isEmpty()) {
                    Atomically.insertPicked(tx, "INSERT INTO ip_allocation (network_id, ip_address, subnet_id,"
                            + " port_id) VALUES (?, ?, ?, ?)", subnet.networkId(), a.toString(), subnet.id(), portId);
                    return Optional.of(a);
                }
            }
        }
        return Optional.empty();
    }
}
