package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where routers run: each on one host with the L3 role (fewest routers first), its legs bound
 * there. A router waits unplaced while no host has the role, and moves when its host loses it.
 */
final class RouterHosts {
    private RouterHosts() {
    }

    /** The L3 host with the fewest routers (by name among equals); empty when no host has the role. */
    static Optional<String> pick(Sql tx) {
        return tx.list("SELECT h.host FROM host_network h WHERE h.l3_agent ORDER BY (SELECT COUNT(*) FROM router r"
                + " WHERE r.host = h.host), h.host", r -> r.getString(1)).stream().findFirst();
    }

    /** The host that runs {@code routerId}; empty when it runs nowhere (or is gone). */
    static Optional<String> hostOf(Sql tx, String routerId) {
        return tx.one("SELECT host FROM router WHERE id = ?", r -> r.getString(1), routerId)
                .filter(h -> !h.isEmpty());
    }

    /** A router's legs: its interface ports and its gateway port. */
    static List<Port> legs(Sql tx, String routerId) {
        return PortStore.load(tx, " WHERE p.device_id = ? AND p.device_owner IN (?, ?)", routerId,
                Router.INTERFACE_OWNER, Router.GATEWAY_OWNER);
    }

    /**
     * The hosts whose states a change of {@code routerId} concerns: its own, and those on its legs'
     * networks (they keep the legs' MACs).
     */
    static Set<String> of(Sql tx, String routerId) {
        Set<String> hosts = new TreeSet<>();
        hostOf(tx, routerId).ifPresent(hosts::add);
        for (Port p : legs(tx, routerId)) {
            hosts.addAll(HostNetworks.ofPort(tx, p));
        }
        return hosts;
    }

    /** Puts a router and its legs on {@code host} (empty: nowhere); returns the hosts concerned before and after. */
    static Set<String> move(Sql tx, String routerId, String host, Clock clock) {
        Set<String> hosts = of(tx, routerId);
        tx.update("UPDATE router SET host = ? WHERE id = ?", host, routerId);
        tx.update("UPDATE port SET host_id = ?, updated_at = ?, revision_number = revision_number + 1 WHERE"
                + " device_id = ? AND device_owner IN (?, ?)", host, clock.instant(), routerId, Router.INTERFACE_OWNER,
                Router.GATEWAY_OWNER);
        hosts.addAll(of(tx, routerId));
        return hosts;
    }

    /**
     * Places the routers that run nowhere, or on a host that lost the L3 role, on the L3 hosts;
     * with none left, those routers run nowhere. Returns the hosts concerned.
     */
    static Set<String> settle(Sql tx, Clock clock) {
        Set<String> hosts = new TreeSet<>();
        for (String routerId : tx.list("SELECT id FROM router WHERE host = '' OR host NOT IN (SELECT host FROM"
                + " host_network WHERE l3_agent) ORDER BY created_at, id", r -> r.getString(1))) {
            String target = pick(tx).orElse("");
            if (!target.equals(hostOf(tx, routerId).orElse(""))) {
                hosts.addAll(move(tx, routerId, target, clock));
            }
        }
        return hosts;
    }
}
