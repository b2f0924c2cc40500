package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.scheduler.network.PortStore.IpRequest;
import io.stratus.scheduler.network.Subnet.HostRoute;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Routers, checked as Neutron's l3_db, l3_gwmode_db and extraroute_db check them: a gateway only on
 * an external network, no two attached subnets that overlap, extra routes only through attached
 * subnets, no interface removed that a floating IP or a route needs. Each change runs in one
 * transaction that bumps the router's host and the hosts on its legs' networks; those are told
 * after the commit.
 */
public final class RouterStore {
    /** Neutron's limit on a router's extra routes (max_routes). */
    static final int MAX_ROUTES = 30;
    private static final String COLUMNS = "id, project_id, name, description, admin_state_up, gateway_network_id,"
            + " enable_snat, routes, host, " + Columns.REVISION;

    /** A gateway as asked: the external network, SNAT (default on), and addresses (default: one of each version). */
    public record Gateway(String networkId, Optional<Boolean> enableSnat, Optional<List<IpRequest>> fixedIps) {
    }

    public record Spec(String projectId, String name, String description, boolean adminStateUp,
                       Optional<Gateway> gateway) {
    }

    /**
     * What an update changes; empty parts stay. {@code gateway} present but empty clears the
     * gateway; {@code routes} replaces the extra routes.
     */
    public record Change(Optional<String> name, Optional<String> description, Optional<Boolean> adminStateUp,
                         Optional<Optional<Gateway>> gateway, Optional<List<HostRoute>> routes) {
    }

    /** What attaching or detaching answers (Neutron's router interface info). */
    public record Interface(String routerId, String subnetId, List<String> subnetIds, String portId, String networkId,
                            String projectId) {
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final PortStore ports;
    private final Consumer<Set<String>> hostsChanged;

    public RouterStore(DataSource db, Clock clock, PortStore ports, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.ports = ports;
        this.hostsChanged = hostsChanged;
    }

    public Router create(Spec s) {
        String id = UUID.randomUUID().toString();
        Set<String> hosts = Atomically.run(db, tx -> {
            String host = RouterHosts.pick(tx).orElse("");
            tx.update("INSERT INTO router (" + COLUMNS + ") VALUES (" + Columns.marks(12) + ")", id, s.projectId(),
                    s.name(), s.description(), s.adminStateUp(), null, true, "", host, clock.instant(),
                    clock.instant(), 0L);
            if (s.gateway().isPresent()) {
                setGateway(tx, id, host, s.gateway().get());
            }
            Set<String> affected = RouterHosts.of(tx, id);
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
        return get(id);
    }

    public Router update(String id, Change c) {
        Set<String> hosts = Atomically.run(db, tx -> {
            Router r = find(tx, id).orElseThrow(() -> NetworkException.notFound("Router", id));
            Set<String> affected = RouterHosts.of(tx, id);
            if (c.gateway().isPresent()) {
                changeGateway(tx, r, c.gateway().get());
            }
            List<HostRoute> routes = c.routes().orElse(r.routes());
            if (c.routes().isPresent()) {
                checkRoutes(tx, id, routes);
            }
            tx.update("UPDATE router SET name = ?, description = ?, admin_state_up = ?, routes = ?, updated_at = ?,"
                    + " revision_number = revision_number + 1 WHERE id = ?", c.name().orElse(r.name()),
                    c.description().orElse(r.description()), c.adminStateUp().orElse(r.adminStateUp()),
                    routes(routes), clock.instant(), id);
            affected.addAll(RouterHosts.of(tx, id));
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
        return get(id);
    }

    private void changeGateway(Sql tx, Router r, Optional<Gateway> wanted) {
        boolean sameNetwork = wanted.isPresent() && r.gatewayNetworkId().filter(wanted.get().networkId()::equals)
                .isPresent();
        if (sameNetwork && wanted.get().fixedIps().isEmpty()) {
            // Only SNAT changes: the gateway port and its addresses stay (Neutron's ext-gw-mode update).
            tx.update("UPDATE router SET enable_snat = ? WHERE id = ?", wanted.get().enableSnat().orElse(true),
                    r.id());
            return;
        }
        if (r.gatewayNetworkId().isPresent()) {
            if (tx.count("SELECT COUNT(*) FROM floating_ip WHERE router_id = ?", r.id()) > 0) {
                throw NetworkException.conflict("RouterExternalGatewayInUseByFloatingIp", "Gateway cannot be updated"
                        + " for router " + r.id() + ", since a gateway to external network "
                        + r.gatewayNetworkId().get() + " is required by one or more floating IPs.");
            }
            tx.update("DELETE FROM port WHERE device_id = ? AND device_owner = ?", r.id(), Router.GATEWAY_OWNER);
            tx.update("UPDATE router SET gateway_network_id = NULL, enable_snat = ? WHERE id = ?", true, r.id());
        }
        if (wanted.isPresent()) {
            setGateway(tx, r.id(), r.host(), wanted.get());
        }
    }

    /** Gives a router its gateway port on an external network. */
    private void setGateway(Sql tx, String routerId, String host, Gateway g) {
        Network n = NetworkStore.find(tx, g.networkId()).orElseThrow(() -> NetworkException.notFound("Network",
                g.networkId()));
        if (!n.external()) {
            throw NetworkException.badRequest("Bad router request: Network " + n.id() + " is not an external"
                    + " network.");
        }
        // Neutron's gateway port belongs to no project: the operator's network lends it the address.
        Port gw = ports.insert(tx, new PortStore.Spec(n.id(), "", "", "", Optional.empty(), true, routerId,
                Router.GATEWAY_OWNER, host, "normal", Optional.of(false), g.fixedIps(), Optional.empty(), List.of(),
                false), List.of());
        if (gw.fixedIps().isEmpty()) {
            throw NetworkException.badRequest("Bad router request: No IPs available for external network "
                    + n.id() + ".");
        }
        tx.update("UPDATE router SET gateway_network_id = ?, enable_snat = ? WHERE id = ?", n.id(),
                g.enableSnat().orElse(true), routerId);
    }

    /** Neutron's extraroute checks: at most 30, each nexthop on an attached subnet and not the router's own. */
    private static void checkRoutes(Sql tx, String routerId, List<HostRoute> routes) {
        if (routes.size() > MAX_ROUTES) {
            throw invalidRoutes(routes, "number of routes exceeded the maximum " + MAX_ROUTES);
        }
        List<Subnet> attached = attached(tx, routerId);
        Set<String> own = new TreeSet<>();
        for (Port p : interfaces(tx, routerId)) {
            p.fixedIps().forEach(f -> own.add(f.ipAddress()));
        }
        for (HostRoute route : routes) {
            Cidr destination = Cidr.parse(route.destination()).filter(c -> route.destination().contains("/"))
                    .orElseThrow(() -> invalidRoutes(routes, "the destination " + route.destination()
                            + " is not a CIDR"));
            IpAddress nexthop = IpAddress.parse(route.nexthop()).orElseThrow(() -> invalidRoutes(routes,
                    "the nexthop " + route.nexthop() + " is not an IP address"));
            if (destination.version() != nexthop.version()) {
                throw invalidRoutes(routes, "the nexthop " + nexthop + " is not of the destination's IP version");
            }
            if (own.contains(nexthop.toString())) {
                throw invalidRoutes(routes, "the nexthop is used by router");
            }
            if (attached.stream().noneMatch(s -> s.cidr().contains(nexthop))) {
                throw invalidRoutes(routes, "the nexthop is not connected with router");
            }
        }
    }

    private static NetworkException invalidRoutes(List<HostRoute> routes, String reason) {
        return new NetworkException(NetworkException.Kind.INVALID, "InvalidRoutes", "Invalid format for routes: "
                + routes.stream().map(r -> "{'destination': '" + r.destination() + "', 'nexthop': '" + r.nexthop()
                + "'}").toList() + ", " + reason + ".");
    }

    /** Deletes a router and its gateway port; 409 RouterInUse while it has interfaces. */
    public void delete(String id) {
        Set<String> hosts = Atomically.run(db, tx -> {
            find(tx, id).orElseThrow(() -> NetworkException.notFound("Router", id));
            if (!interfaces(tx, id).isEmpty()) {
                throw NetworkException.conflict("RouterInUse", "Router " + id + " still has ports");
            }
            Set<String> affected = RouterHosts.of(tx, id);
            tx.update("UPDATE floating_ip SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL WHERE"
                    + " router_id = ?", id);
            tx.update("DELETE FROM port WHERE device_id = ? AND device_owner = ?", id, Router.GATEWAY_OWNER);
            tx.update("DELETE FROM router WHERE id = ?", id);
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    /**
     * Attaches a subnet: a new interface port with the subnet's gateway address. 400 when the
     * subnet has no gateway, is attached already or overlaps an attached subnet.
     */
    public Interface addSubnet(String routerId, String subnetId) {
        return attach(routerId, tx -> {
            Router r = find(tx, routerId).orElseThrow(() -> NetworkException.notFound("Router", routerId));
            Subnet s = SubnetStore.find(tx, subnetId).orElseThrow(() -> NetworkException.notFound("Subnet",
                    subnetId));
            IpAddress gateway = s.gateway().orElseThrow(() -> NetworkException.badRequest("Bad router request:"
                    + " Subnet for router interface must have a gateway IP."));
            checkAttachable(tx, r, List.of(s));
            Port p = ports.insert(tx, new PortStore.Spec(s.networkId(), r.projectId(), "", "", Optional.empty(), true,
                    r.id(), Router.INTERFACE_OWNER, r.host(), "normal", Optional.empty(), Optional.of(List.of()),
                    Optional.empty(), List.of(), false), List.of());
            Ipam.takeGateway(tx, s, gateway, p.id());
            return p.id();
        });
    }

    /**
     * Attaches an existing port as an interface: 409 PortInUse when it has a device already, 400
     * when it has no fixed IP or its subnets overlap attached ones.
     */
    public Interface addPort(String routerId, String portId) {
        return attach(routerId, tx -> {
            Router r = find(tx, routerId).orElseThrow(() -> NetworkException.notFound("Router", routerId));
            Port p = PortStore.find(tx, portId).orElseThrow(() -> NetworkException.notFound("Port", portId));
            if (!p.deviceId().isEmpty()) {
                throw NetworkException.conflict("PortInUse", "Unable to complete operation on port " + p.id()
                        + " for network " + p.networkId() + ". Port already has an attached device " + p.deviceId()
                        + ".");
            }
            if (p.fixedIps().isEmpty()) {
                throw NetworkException.badRequest("Bad router request: Router port must have at least one fixed"
                        + " IP.");
            }
            List<Subnet> subnets = new ArrayList<>();
            for (Port.FixedIp f : p.fixedIps()) {
                SubnetStore.find(tx, f.subnetId()).filter(s -> !subnets.contains(s)).ifPresent(subnets::add);
            }
            checkAttachable(tx, r, subnets);
            tx.update("UPDATE port SET device_id = ?, device_owner = ?, host_id = ?, updated_at = ?, revision_number ="
                    + " revision_number + 1 WHERE id = ? AND device_id = ''", r.id(), Router.INTERFACE_OWNER, r.host(),
                    clock.instant(), p.id());
            return p.id();
        });
    }

    private Interface attach(String routerId, java.util.function.Function<Sql, String> work) {
        Set<String> hosts = new TreeSet<>();
        String portId = Atomically.run(db, tx -> {
            hosts.clear();
            touch(tx, routerId);
            hosts.addAll(RouterHosts.of(tx, routerId));
            String id = work.apply(tx);
            hosts.addAll(RouterHosts.of(tx, routerId));
            HostNetworks.bump(tx, hosts);
            return id;
        });
        hostsChanged.accept(hosts);
        return info(routerId, ports.get(portId));
    }

    /** Neutron's _check_for_dup_router_subnets: each subnet once, and none overlapping another attached. */
    private static void checkAttachable(Sql tx, Router r, List<Subnet> adding) {
        for (Subnet attached : attached(tx, r.id())) {
            for (Subnet s : adding) {
                if (attached.id().equals(s.id())) {
                    throw NetworkException.badRequest("Bad router request: Router already has a port on subnet "
                            + s.id() + ".");
                }
                if (attached.cidr().overlaps(s.cidr())) {
                    throw NetworkException.badRequest("Bad router request: Cidr " + s.cidr() + " of subnet " + s.id()
                            + " overlaps with cidr " + attached.cidr() + " of subnet " + attached.id() + ".");
                }
            }
        }
    }

    /** Detaches the interface on {@code subnetId}: its port goes (Neutron deletes it). */
    public Interface removeSubnet(String routerId, String subnetId) {
        return detach(routerId, tx -> interfaces(tx, routerId).stream().filter(p -> p.fixedIps().stream()
                .anyMatch(f -> f.subnetId().equals(subnetId))).findFirst().orElseThrow(() ->
                new NetworkException(NetworkException.Kind.NOT_FOUND, "RouterInterfaceNotFoundForSubnet", "Router "
                        + routerId + " has no interface on subnet " + subnetId)));
    }

    /** Detaches the interface port {@code portId}; the port goes (Neutron deletes it). */
    public Interface removePort(String routerId, String portId) {
        return detach(routerId, tx -> interfaces(tx, routerId).stream().filter(p -> p.id().equals(portId))
                .findFirst().orElseThrow(() -> new NetworkException(NetworkException.Kind.NOT_FOUND,
                        "RouterInterfaceNotFound", "Router " + routerId + " does not have an interface with id "
                        + portId)));
    }

    private Interface detach(String routerId, java.util.function.Function<Sql, Port> which) {
        Set<String> hosts = new TreeSet<>();
        Interface info = Atomically.run(db, tx -> {
            hosts.clear();
            touch(tx, routerId);
            Router r = find(tx, routerId).orElseThrow(() -> NetworkException.notFound("Router", routerId));
            Port p = which.apply(tx);
            List<Cidr> leaving = new ArrayList<>();
            for (Port.FixedIp f : p.fixedIps()) {
                SubnetStore.find(tx, f.subnetId()).ifPresent(s -> leaving.add(s.cidr()));
            }
            String subnetId = p.fixedIps().isEmpty() ? "" : p.fixedIps().get(0).subnetId();
            for (String fixed : tx.list("SELECT fixed_ip_address FROM floating_ip WHERE router_id = ?",
                    row -> row.getString(1), routerId)) {
                if (leaving.stream().anyMatch(c -> IpAddress.parse(fixed).filter(c::contains).isPresent())) {
                    throw NetworkException.conflict("RouterInterfaceInUseByFloatingIP", "Router interface for subnet "
                            + subnetId + " on router " + routerId + " cannot be deleted, as it is required by one"
                            + " or more floating IPs.");
                }
            }
            for (HostRoute route : r.routes()) {
                if (leaving.stream().anyMatch(c -> IpAddress.parse(route.nexthop()).filter(c::contains)
                        .isPresent())) {
                    throw NetworkException.conflict("RouterInterfaceInUse", "Router interface for subnet " + subnetId
                            + " on router " + routerId + " cannot be deleted, as it is required by one or more"
                            + " routes.");
                }
            }
            Interface answer = info(routerId, p);
            hosts.addAll(RouterHosts.of(tx, routerId));
            tx.update("DELETE FROM port WHERE id = ?", p.id());
            HostNetworks.bump(tx, hosts);
            return answer;
        });
        hostsChanged.accept(hosts);
        return info;
    }

    /**
     * A new revision of the router, first in the transaction: its row lock makes two interface
     * changes of one router take turns, so neither misses the other's subnet in its overlap check.
     */
    private void touch(Sql tx, String routerId) {
        tx.update("UPDATE router SET updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
                clock.instant(), routerId);
    }

    private static Interface info(String routerId, Port p) {
        List<String> subnetIds = p.fixedIps().stream().map(Port.FixedIp::subnetId).distinct().toList();
        return new Interface(routerId, subnetIds.isEmpty() ? "" : subnetIds.get(0), subnetIds, p.id(), p.networkId(),
                p.projectId());
    }

    /** A router's interface ports. */
    static List<Port> interfaces(Sql tx, String routerId) {
        return PortStore.load(tx, " WHERE p.device_id = ? AND p.device_owner = ?", routerId, Router.INTERFACE_OWNER);
    }

    /** The subnets a router has an interface on. */
    static List<Subnet> attached(Sql tx, String routerId) {
        List<Subnet> out = new ArrayList<>();
        for (Port p : interfaces(tx, routerId)) {
            for (Port.FixedIp f : p.fixedIps()) {
                SubnetStore.find(tx, f.subnetId()).filter(s -> out.stream().noneMatch(o -> o.id().equals(s.id())))
                        .ifPresent(out::add);
            }
        }
        return out;
    }

    public Optional<Router> find(String id) {
        return find(sql, id);
    }

    static Optional<Router> find(Sql tx, String id) {
        return load(tx, " WHERE id = ?", id).stream().findFirst();
    }

    public Router get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("Router", id));
    }

    public List<Router> list() {
        return load(sql, "");
    }

    /** The routers {@code host} runs. */
    static List<Router> on(Sql tx, String host) {
        return load(tx, " WHERE host = ?", host);
    }

    public long count(String projectId) {
        return sql.count("SELECT COUNT(*) FROM router WHERE project_id = ?", projectId);
    }

    private static List<Router> load(Sql tx, String where, Object... args) {
        Map<String, Port> gateways = new HashMap<>();
        for (Port p : PortStore.load(tx, " WHERE p.device_owner = ?", Router.GATEWAY_OWNER)) {
            gateways.put(p.deviceId(), p);
        }
        return tx.list("SELECT " + COLUMNS + " FROM router" + where + " ORDER BY created_at, id",
                r -> row(r, gateways), args);
    }

    private static String routes(List<HostRoute> routes) {
        return Columns.join(routes, r -> List.of(r.destination(), r.nexthop()));
    }

    private static Router row(ResultSet r, Map<String, Port> gateways) throws SQLException {
        String id = r.getString("id");
        return new Router(id, r.getString("project_id"), r.getString("name"), r.getString("description"),
                r.getBoolean("admin_state_up"), Columns.optional(r, "gateway_network_id"), r.getBoolean("enable_snat"),
                Columns.split(r.getString("routes"), p -> new HostRoute(p[0], p[1])), r.getString("host"),
                Optional.ofNullable(gateways.get(id)), Columns.revision(r));
    }
}
