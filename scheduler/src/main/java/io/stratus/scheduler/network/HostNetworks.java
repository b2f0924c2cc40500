package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which hosts a change concerns, and their state's generation. Every store change that alters what
 * some hosts must build bumps those hosts' generations in its own transaction, so an agent can
 * tell a newer state from an older one whatever order they are published in.
 */
final class HostNetworks {
    private HostNetworks() {
    }

    /** Hosts with a port on {@code networkId}. */
    static Set<String> onNetwork(Sql sql, String networkId) {
        return new TreeSet<>(sql.list("SELECT DISTINCT host_id FROM port WHERE network_id = ? AND host_id <> ''",
                r -> r.getString(1), networkId));
    }

    /**
     * Hosts whose filters name any of {@code groups}: those with ports in them, and those with ports
     * in groups whose rules take them as remote group (their member addresses changed).
     */
    static Set<String> ofGroups(Sql sql, Collection<String> groups) {
        Set<String> hosts = new TreeSet<>();
        for (String g : groups) {
            hosts.addAll(sql.list("SELECT DISTINCT p.host_id FROM port p JOIN port_security_group m ON m.port_id = p.id"
                    + " WHERE p.host_id <> '' AND (m.security_group_id = ? OR m.security_group_id IN (SELECT"
                    + " security_group_id FROM security_group_rule WHERE remote_group_id = ?))",
                    r -> r.getString(1), g, g));
        }
        return hosts;
    }

    /** The hosts a port's change concerns: its own, those on its network, those filtering on its groups. */
    static Set<String> ofPort(Sql sql, Port p) {
        Set<String> hosts = onNetwork(sql, p.networkId());
        hosts.addAll(ofGroups(sql, p.securityGroups()));
        if (p.bound()) {
            hosts.add(p.hostId());
        }
        return hosts;
    }

    /** Bumps the generation of each host, registering it on first use. */
    static void bump(Sql sql, Collection<String> hosts) {
        for (String h : new TreeSet<>(hosts)) {
            if (sql.update("UPDATE host_network SET generation = generation + 1 WHERE host = ?", h) == 0) {
                sql.update("INSERT INTO host_network (host, tunnel_address, generation) VALUES (?, '', 1)", h);
            }
        }
    }

    static long generation(Sql sql, String host) {
        return sql.one("SELECT generation FROM host_network WHERE host = ?", r -> r.getLong(1), host).orElse(0L);
    }

    static Optional<String> tunnelAddress(Sql sql, String host) {
        return sql.one("SELECT tunnel_address FROM host_network WHERE host = ?", r -> r.getString(1), host)
                .filter(s -> !s.isEmpty());
    }

    static List<String> all(Sql sql) {
        return sql.list("SELECT host FROM host_network ORDER BY host", r -> r.getString(1));
    }
}
