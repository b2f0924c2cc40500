package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.scheduler.network.PortStore.IpRequest;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Floating IPs, as Neutron's l3_db keeps them: the address is held by a port on the external
 * network; an association names a tenant port's fixed IPv4 address and the router whose gateway
 * is on the floating network and which has an interface on that address's subnet. A change bumps
 * the hosts of the routers it concerns.
 */
public final class FloatingIpStore {
    private static final String COLUMNS = "id, project_id, description, floating_network_id, floating_port_id,"
            + " floating_ip_address, port_id, fixed_ip_address, router_id, " + Columns.REVISION;

    /** What a create names: the network, and optionally a subnet or address on it and a port to associate. */
    public record Spec(String projectId, String floatingNetworkId, Optional<String> subnetId,
                       Optional<IpAddress> floatingIpAddress, String description, Optional<String> portId,
                       Optional<String> fixedIpAddress) {
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final PortStore ports;
    private final Consumer<Set<String>> hostsChanged;

    public FloatingIpStore(DataSource db, Clock clock, PortStore ports, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.ports = ports;
        this.hostsChanged = hostsChanged;
    }

    public FloatingIp create(Spec s) {
        String id = UUID.randomUUID().toString();
        Set<String> hosts = new TreeSet<>();
        Atomically.run(db, tx -> {
            hosts.clear();
            Network n = NetworkStore.find(tx, s.floatingNetworkId()).orElseThrow(() ->
                    NetworkException.notFound("Network", s.floatingNetworkId()));
            if (!n.external()) {
                throw NetworkException.badRequest("Bad floatingip request: Network " + n.id() + " is not a valid"
                        + " external network.");
            }
            Optional<String> v4 = SubnetStore.of(tx, n.id()).stream().filter(sub -> sub.ipVersion() == 4)
                    .filter(sub -> s.subnetId().map(sub.id()::equals).orElse(true)).map(Subnet::id).findFirst();
            if (v4.isEmpty() && s.floatingIpAddress().isEmpty()) {
                throw NetworkException.badRequest("Bad floatingip request: Network " + n.id() + " does not contain"
                        + (s.subnetId().isPresent() ? " the IPv4 subnet " + s.subnetId().get() : " any IPv4 subnet")
                        + ".");
            }
            Port held = ports.insert(tx, new PortStore.Spec(n.id(), "", "", "", Optional.empty(), true, id,
                    FloatingIp.OWNER, "", "normal", Optional.of(false), Optional.of(List.of(new IpRequest(
                    s.subnetId().or(() -> s.floatingIpAddress().isPresent() ? Optional.empty() : v4),
                    s.floatingIpAddress()))), Optional.empty(), List.of(), false), List.of());
            tx.update("INSERT INTO floating_ip (" + COLUMNS + ") VALUES (" + Columns.marks(12) + ")", id,
                    s.projectId(), s.description(), n.id(), held.id(), held.fixedIps().get(0).ipAddress(), null, null,
                    null, clock.instant(), clock.instant(), 0L);
            if (s.portId().isPresent()) {
                hosts.addAll(associate(tx, find(tx, id).orElseThrow(), s.portId().get(), s.fixedIpAddress()));
            }
            HostNetworks.bump(tx, hosts);
            return null;
        });
        hostsChanged.accept(hosts);
        return get(id);
    }

    /**
     * Associates ({@code portId} present), disassociates ({@code portId} present but empty) or
     * leaves the association; the description changes when given.
     */
    public FloatingIp update(String id, Optional<Optional<String>> portId, Optional<String> fixedIpAddress,
                             Optional<String> description) {
        Set<String> hosts = new TreeSet<>();
        Atomically.run(db, tx -> {
            hosts.clear();
            FloatingIp f = find(tx, id).orElseThrow(() -> NetworkException.notFound("FloatingIP", id));
            if (portId.isPresent()) {
                hosts.addAll(disassociate(tx, f));
                if (portId.get().isPresent()) {
                    hosts.addAll(associate(tx, f, portId.get().get(), fixedIpAddress));
                }
            }
            tx.update("UPDATE floating_ip SET description = ?, updated_at = ?, revision_number = revision_number + 1"
                    + " WHERE id = ?", description.orElse(f.description()), clock.instant(), id);
            HostNetworks.bump(tx, hosts);
            return null;
        });
        hostsChanged.accept(hosts);
        return get(id);
    }

    /** The association with a port's fixed address; returns the hosts of the router that maps it. */
    private static Set<String> associate(Sql tx, FloatingIp f, String portId, Optional<String> fixedIpAddress) {
        Port p = PortStore.find(tx, portId).orElseThrow(() -> NetworkException.notFound("Port", portId));
        if (p.deviceOwner().startsWith("network:")) {
            throw NetworkException.badRequest("Bad floatingip request: Port " + p.id() + " has owner "
                    + p.deviceOwner() + " and therefore cannot be associated with a floating IP.");
        }
        Port.FixedIp fixed = fixedIpAddress.map(a -> p.fixedIps().stream().filter(i -> i.ipAddress().equals(a))
                .findFirst().orElseThrow(() -> NetworkException.badRequest("Bad floatingip request: Port " + p.id()
                        + " does not have fixed ip " + a + ".")))
                .orElseGet(() -> p.fixedIps().stream().filter(i -> !i.ipAddress().contains(":")).findFirst()
                        .orElseThrow(() -> NetworkException.badRequest("Bad floatingip request: Port " + p.id()
                                + " does not have any fixed IPv4 address.")));
        if (fixed.ipAddress().contains(":")) {
            throw NetworkException.badRequest("Bad floatingip request: Cannot process floating IP association with"
                    + " " + fixed.ipAddress() + ", since that is not an IPv4 address.");
        }
        String routerId = routerFor(tx, f.floatingNetworkId(), fixed.subnetId()).orElseThrow(() ->
                new NetworkException(NetworkException.Kind.NOT_FOUND, "ExternalGatewayForFloatingIPNotFound",
                        "External network " + f.floatingNetworkId() + " is not reachable from subnet "
                                + fixed.subnetId() + ".  Therefore, cannot associate Port " + p.id()
                                + " with a Floating IP."));
        Optional<String> other = tx.one("SELECT id FROM floating_ip WHERE port_id = ? AND fixed_ip_address = ?"
                + " AND id <> ?", r -> r.getString(1), p.id(), fixed.ipAddress(), f.id());
        if (other.isPresent()) {
            throw alreadyAssociated(f, p, fixed.ipAddress());
        }
        try {
            tx.update("UPDATE floating_ip SET port_id = ?, fixed_ip_address = ?, router_id = ? WHERE id = ?", p.id(),
                    fixed.ipAddress(), routerId, f.id());
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                throw alreadyAssociated(f, p, fixed.ipAddress());
            }
            throw e;
        }
        return RouterHosts.hostOf(tx, routerId).map(h -> (Set<String>) new TreeSet<>(Set.of(h)))
                .orElseGet(TreeSet::new);
    }

    private static NetworkException alreadyAssociated(FloatingIp f, Port p, String fixed) {
        return NetworkException.conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP "
                + f.floatingIpAddress() + " (" + f.id() + ") with port " + p.id() + " using fixed IP " + fixed
                + ", as that fixed IP already has a floating IP on external network " + f.floatingNetworkId() + ".");
    }

    /** Neutron's _get_router_for_floatingip: a router with its gateway on the network and a leg on the subnet. */
    private static Optional<String> routerFor(Sql tx, String floatingNetworkId, String subnetId) {
        return tx.list("SELECT r.id FROM router r WHERE r.gateway_network_id = ? AND EXISTS (SELECT 1 FROM port p"
                + " JOIN ip_allocation a ON a.port_id = p.id WHERE p.device_id = r.id AND p.device_owner = ?"
                + " AND a.subnet_id = ?) ORDER BY r.created_at, r.id", r -> r.getString(1), floatingNetworkId,
                Router.INTERFACE_OWNER, subnetId).stream().findFirst();
    }

    private static Set<String> disassociate(Sql tx, FloatingIp f) {
        Set<String> hosts = new TreeSet<>();
        f.routerId().flatMap(r -> RouterHosts.hostOf(tx, r)).ifPresent(hosts::add);
        tx.update("UPDATE floating_ip SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL WHERE id = ?",
                f.id());
        return hosts;
    }

    /**
     * Lets go of the floating IPs associated with a port that is going (Neutron's
     * disassociate_floatingips on port delete); returns the hosts of their routers.
     */
    static Set<String> portGone(Sql tx, String portId) {
        Set<String> hosts = new TreeSet<>();
        for (FloatingIp f : load(tx, " WHERE port_id = ?", portId)) {
            hosts.addAll(disassociate(tx, f));
        }
        return hosts;
    }

    public void delete(String id) {
        Set<String> hosts = Atomically.run(db, tx -> {
            FloatingIp f = find(tx, id).orElseThrow(() -> NetworkException.notFound("FloatingIP", id));
            Set<String> affected = disassociate(tx, f);
            tx.update("DELETE FROM floating_ip WHERE id = ?", id);
            tx.update("DELETE FROM port WHERE id = ?", f.floatingPortId());
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    public Optional<FloatingIp> find(String id) {
        return find(sql, id);
    }

    static Optional<FloatingIp> find(Sql tx, String id) {
        return load(tx, " WHERE id = ?", id).stream().findFirst();
    }

    public FloatingIp get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("FloatingIP", id));
    }

    public List<FloatingIp> list() {
        return load(sql, "");
    }

    /** The associated floating IPs a router maps. */
    static List<FloatingIp> of(Sql tx, String routerId) {
        return load(tx, " WHERE router_id = ? AND port_id IS NOT NULL", routerId);
    }

    public long count(String projectId) {
        return sql.count("SELECT COUNT(*) FROM floating_ip WHERE project_id = ?", projectId);
    }

    private static List<FloatingIp> load(Sql tx, String where, Object... args) {
        return tx.list("SELECT " + COLUMNS + " FROM floating_ip" + where + " ORDER BY created_at, id",
                FloatingIpStore::row, args);
    }

    private static FloatingIp row(ResultSet r) throws SQLException {
        return new FloatingIp(r.getString("id"), r.getString("project_id"), r.getString("description"),
                r.getString("floating_network_id"), r.getString("floating_port_id"),
                r.getString("floating_ip_address"), Columns.optional(r, "port_id"),
                Columns.optional(r, "fixed_ip_address"), Columns.optional(r, "router_id"), Columns.revision(r));
    }
}
