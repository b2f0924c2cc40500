package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import io.stratus.scheduler.network.Port.AddressPair;
import io.stratus.scheduler.network.Port.FixedIp;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Ports, their addresses (through {@link Ipam}) and security groups. Each change runs in one
 * transaction that also keeps the networks' DHCP ports in step with where ports are bound (one per
 * network per host that has ports on it, as Neutron's DHCP agents have) and bumps the generation of
 * every host whose network state it changes; those hosts are told after the commit.
 */
public final class PortStore {
    private static final String COLUMNS = "id, network_id, project_id, name, description, mac_address, admin_state_up,"
            + " device_id, device_owner, host_id, vnic_type, port_security_enabled, allowed_address_pairs,"
            + " made_for_server, " + Columns.REVISION;

    /** One fixed IP a port asks for: on a subnet, at an address, or both. */
    public record IpRequest(Optional<String> subnetId, Optional<IpAddress> ipAddress) {
    }

    /** What a create names; empty parts take Neutron's defaults. */
    public record Spec(String networkId, String projectId, String name, String description,
                       Optional<String> macAddress, boolean adminStateUp, String deviceId, String deviceOwner,
                       String hostId, String vnicType, Optional<Boolean> portSecurityEnabled,
                       Optional<List<IpRequest>> fixedIps, Optional<List<String>> securityGroups,
                       List<AddressPair> allowedAddressPairs, boolean madeForServer) {
    }

    /** What an update changes; empty parts stay as they are. */
    public record Change(Optional<String> name, Optional<String> description, Optional<Boolean> adminStateUp,
                         Optional<String> deviceId, Optional<String> deviceOwner, Optional<String> hostId,
                         Optional<String> vnicType, Optional<Boolean> portSecurityEnabled,
                         Optional<List<IpRequest>> fixedIps, Optional<List<String>> securityGroups,
                         Optional<List<AddressPair>> allowedAddressPairs, Optional<String> macAddress) {
        public static Change none() {
            return new Change(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty());
        }
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final SecurityGroupStore groups;
    private final Consumer<Set<String>> hostsChanged;

    public PortStore(DataSource db, Clock clock, SecurityGroupStore groups, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.groups = groups;
        this.hostsChanged = hostsChanged;
    }

    /** Creates ports, all or none (Neutron's bulk create; a server's NICs). */
    public List<Port> create(List<Spec> specs) {
        List<List<String>> groupsOf = new ArrayList<>();
        for (Spec s : specs) {
            groupsOf.add(groupsFor(s));
        }
        Set<String> hosts = new TreeSet<>();
        List<String> ids = Atomically.run(db, tx -> {
            hosts.clear();
            List<String> made = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                Port p = insert(tx, specs.get(i), groupsOf.get(i));
                made.add(p.id());
                hosts.addAll(settle(tx, p.networkId()));
                hosts.addAll(HostNetworks.ofPort(tx, p));
            }
            HostNetworks.bump(tx, hosts);
            return made;
        });
        hostsChanged.accept(hosts);
        return ids.stream().map(this::get).toList();
    }

    /** The groups a new port is in: those named, or its project's default when port security is on. */
    private List<String> groupsFor(Spec s) {
        boolean security = s.portSecurityEnabled().orElseGet(() -> NetworkStore.find(sql, s.networkId())
                .map(Network::portSecurityEnabled).orElse(true));
        if (s.securityGroups().isPresent()) {
            List<String> named = s.securityGroups().get();
            if (!named.isEmpty() && !security) {
                throw conflictingSecurity();
            }
            groups.missing(named).stream().findFirst().ifPresent(id -> {
                throw NetworkException.notFound("SecurityGroup", id);
            });
            return named;
        }
        return security ? List.of(groups.ensureDefault(s.projectId()).id()) : List.of();
    }

    private static NetworkException conflictingSecurity() {
        return new NetworkException(NetworkException.Kind.INVALID, "PortSecurityAndIPRequiredForSecurityGroups",
                "Port security must be enabled and port must have an IP address in order to use security groups.");
    }

    /** Inserts one port with its addresses and groups, in the caller's transaction (routers' and floating IPs' too). */
    Port insert(Sql tx, Spec s, List<String> securityGroups) {
        Network network = NetworkStore.find(tx, s.networkId())
                .orElseThrow(() -> NetworkException.notFound("Network", s.networkId()));
        String id = UUID.randomUUID().toString();
        String mac = s.macAddress().map(m -> m.toLowerCase(Locale.ROOT)).orElseGet(PortStore::randomMac);
        if (s.macAddress().isPresent() && tx.count("SELECT COUNT(*) FROM port WHERE network_id = ? AND mac_address = ?",
                network.id(), mac) > 0) {
            throw NetworkException.conflict("MacAddressInUse", "Unable to complete operation for network "
                    + network.id() + ". The mac address " + mac + " is in use.");
        }
        Atomically.insertPicked(tx, "INSERT INTO port (" + COLUMNS + ") VALUES (" + Columns.marks(17) + ")", id,
                network.id(), s.projectId(), s.name(), s.description(), mac, s.adminStateUp(), s.deviceId(),
                s.deviceOwner(), s.hostId(), s.vnicType(), s.portSecurityEnabled().orElse(
                        network.portSecurityEnabled()), pairs(s.allowedAddressPairs()), s.madeForServer(),
                clock.instant(), clock.instant(), 0L);
        List<IpRequest> wanted = s.fixedIps().orElseGet(() -> defaultRequests(tx, network.id()));
        allocate(tx, network.id(), id, wanted, List.of());
        for (String g : securityGroups) {
            tx.update("INSERT INTO port_security_group (port_id, security_group_id) VALUES (?, ?)", id, g);
        }
        return find(tx, id).orElseThrow();
    }

    /** Neutron's default: one address from a subnet of each IP version, the first subnet that has room. */
    private static List<IpRequest> defaultRequests(Sql tx, String networkId) {
        Map<Integer, Subnet> firstOfVersion = new HashMap<>();
        for (Subnet s : SubnetStore.of(tx, networkId)) {
            firstOfVersion.putIfAbsent(s.ipVersion(), s);
        }
        return firstOfVersion.values().stream().filter(s -> !s.allocationPools().isEmpty())
                .map(s -> new IpRequest(Optional.of(s.id()), Optional.empty())).toList();
    }

    /** Takes the addresses asked for; a subnet-only request keeps an address the port already had there. */
    private static void allocate(Sql tx, String networkId, String portId, List<IpRequest> wanted, List<FixedIp> had) {
        List<Subnet> subnets = SubnetStore.of(tx, networkId);
        for (IpRequest r : wanted) {
            Subnet subnet = r.subnetId().map(sid -> subnets.stream().filter(s -> s.id().equals(sid)).findFirst()
                    .orElseThrow(() -> NetworkException.invalid("subnet " + sid + " is not on network " + networkId)))
                    .orElseGet(() -> subnets.stream().filter(s -> s.cidr().contains(r.ipAddress().orElseThrow()))
                            .findFirst().orElseThrow(() -> new NetworkException(NetworkException.Kind.INVALID,
                                    "InvalidIpForNetwork", "IP address " + r.ipAddress().get() + " is not a valid IP"
                                            + " for any of the subnets on the specified network.")));
            Optional<IpAddress> address = r.ipAddress().or(() -> had.stream()
                    .filter(f -> f.subnetId().equals(subnet.id())).findFirst()
                    .flatMap(f -> IpAddress.parse(f.ipAddress())));
            if (address.isPresent()) {
                Ipam.take(tx, subnet, address.get(), portId);
            } else if (Ipam.takeFirstFree(tx, subnet, portId).isEmpty()) {
                throw NetworkException.conflict("IpAddressGenerationFailure", "No more IP addresses available on"
                        + " network " + networkId + ".");
            }
        }
    }

    /** Neutron's MAC prefix fa:16:3e and three random bytes; a collision on the network retries. */
    private static String randomMac() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("fa:16:3e:%02x:%02x:%02x", r.nextInt(256), r.nextInt(256), r.nextInt(256));
    }

    public Port update(String id, Change c) {
        Set<String> hosts = new TreeSet<>();
        Atomically.run(db, tx -> {
            hosts.clear();
            Port p = find(tx, id).orElseThrow(() -> NetworkException.notFound("Port", id));
            hosts.addAll(HostNetworks.ofPort(tx, p));
            boolean security = c.portSecurityEnabled().orElse(p.portSecurityEnabled());
            List<String> sgs = c.securityGroups().orElse(security || c.portSecurityEnabled().isEmpty()
                    ? p.securityGroups() : List.of());
            if (!security && !sgs.isEmpty()) {
                throw conflictingSecurity();
            }
            groups.missing(sgs).stream().findFirst().ifPresent(g -> {
                throw NetworkException.notFound("SecurityGroup", g);
            });
            tx.update("UPDATE port SET name = ?, description = ?, admin_state_up = ?, device_id = ?, device_owner = ?,"
                    + " host_id = ?, vnic_type = ?, port_security_enabled = ?, allowed_address_pairs = ?,"
                    + " mac_address = ?, updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
                    c.name().orElse(p.name()), c.description().orElse(p.description()),
                    c.adminStateUp().orElse(p.adminStateUp()), c.deviceId().orElse(p.deviceId()),
                    c.deviceOwner().orElse(p.deviceOwner()), c.hostId().orElse(p.hostId()),
                    c.vnicType().orElse(p.vnicType()), security,
                    pairs(c.allowedAddressPairs().orElse(p.allowedAddressPairs())),
                    c.macAddress().orElse(p.macAddress()), clock.instant(), id);
            if (c.fixedIps().isPresent()) {
                tx.update("DELETE FROM ip_allocation WHERE port_id = ?", id);
                allocate(tx, p.networkId(), id, c.fixedIps().get(), p.fixedIps());
            }
            tx.update("DELETE FROM port_security_group WHERE port_id = ?", id);
            for (String g : sgs) {
                tx.update("INSERT INTO port_security_group (port_id, security_group_id) VALUES (?, ?)", id, g);
            }
            hosts.addAll(settle(tx, p.networkId()));
            hosts.addAll(HostNetworks.ofPort(tx, find(tx, id).orElseThrow()));
            HostNetworks.bump(tx, hosts);
            return null;
        });
        hostsChanged.accept(hosts);
        return get(id);
    }

    public void delete(String id) {
        Set<String> hosts = Atomically.run(db, tx -> {
            Port p = find(tx, id).orElseThrow(() -> NetworkException.notFound("Port", id));
            Set<String> affected = HostNetworks.ofPort(tx, p);
            affected.addAll(FloatingIpStore.portGone(tx, id));
            tx.update("DELETE FROM port WHERE id = ?", id);
            affected.addAll(settle(tx, p.networkId()));
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    /**
     * Binds every port of {@code deviceId} to {@code host} (empty: unbinds them), in one
     * transaction with the DHCP ports that follow; returns the device's ports.
     */
    public List<Port> bindDevice(String deviceId, String host) {
        changeDevice(deviceId, (tx, p) -> {
            tx.update("UPDATE port SET host_id = ?, updated_at = ?, revision_number = revision_number + 1 WHERE"
                    + " id = ?", host, clock.instant(), p.id());
            return Set.of();
        });
        return ofDevice(deviceId);
    }

    /**
     * Deletes the ports {@code deviceId} had made for it and frees the others (device and binding
     * cleared), with their DHCP ports, in one transaction.
     */
    public void releaseDevice(String deviceId) {
        changeDevice(deviceId, (tx, p) -> {
            if (p.madeForServer()) {
                Set<String> routers = FloatingIpStore.portGone(tx, p.id());
                tx.update("DELETE FROM port WHERE id = ?", p.id());
                return routers;
            } else {
                tx.update("UPDATE port SET device_id = '', device_owner = '', host_id = '', updated_at = ?,"
                        + " revision_number = revision_number + 1 WHERE id = ?", clock.instant(), p.id());
                return Set.of();
            }
        });
    }

    /** Applies {@code change} to each port of a device, then settles their networks' DHCP ports. */
    private void changeDevice(String deviceId, java.util.function.BiFunction<Sql, Port, Set<String>> change) {
        Set<String> hosts = Atomically.run(db, tx -> {
            Set<String> affected = new TreeSet<>();
            List<Port> ports = load(tx, " WHERE p.device_id = ?", deviceId);
            for (Port p : ports) {
                affected.addAll(HostNetworks.ofPort(tx, p));
                affected.addAll(change.apply(tx, p));
            }
            for (String network : new TreeSet<>(ports.stream().map(Port::networkId).toList())) {
                affected.addAll(settle(tx, network));
                affected.addAll(HostNetworks.onNetwork(tx, network));
            }
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    /**
     * Gives existing ports to {@code deviceId} as a server's NICs, all or none: each must be the
     * project's (404 otherwise) and free (409 PortInUse).
     */
    public void claim(List<String> portIds, String projectId, String deviceId) {
        Transaction.run(db, tx -> {
            for (String id : portIds) {
                Port p = find(tx, id).filter(x -> x.projectId().equals(projectId))
                        .orElseThrow(() -> NetworkException.notFound("Port", id));
                if (tx.update("UPDATE port SET device_id = ?, device_owner = ?, updated_at = ?, revision_number ="
                        + " revision_number + 1 WHERE id = ? AND device_id = ''", deviceId, Port.COMPUTE_OWNER,
                        clock.instant(), p.id()) == 0) {
                    throw NetworkException.conflict("PortInUse", "Unable to complete operation on port " + id
                            + " for network " + p.networkId() + ". Port already has an attached device "
                            + p.deviceId() + ".");
                }
            }
            return null;
        });
    }

    /**
     * Makes the network's DHCP ports match where its other ports are bound: one per host with ports,
     * when a subnet has DHCP enabled; none elsewhere. Returns the hosts whose DHCP port came or went.
     */
    private Set<String> settle(Sql tx, String networkId) {
        Set<String> changed = new TreeSet<>();
        Optional<Network> network = NetworkStore.find(tx, networkId);
        List<Subnet> dhcp = network.isEmpty() ? List.of() : SubnetStore.of(tx, networkId).stream()
                .filter(Subnet::enableDhcp).toList();
        // A router's legs need no DHCP server beside them: the guests' hosts have theirs.
        Set<String> wanted = new HashSet<>(dhcp.isEmpty() ? List.of() : tx.list("SELECT DISTINCT host_id FROM port"
                + " WHERE network_id = ? AND host_id <> '' AND device_owner NOT IN (?, ?, ?)", r -> r.getString(1),
                networkId, Port.DHCP_OWNER, Router.INTERFACE_OWNER, Router.GATEWAY_OWNER));
        Map<String, String> have = new HashMap<>();
        for (Port p : load(tx, " WHERE p.network_id = ? AND p.device_owner = ?", networkId, Port.DHCP_OWNER)) {
            if (wanted.contains(p.hostId()) && !have.containsKey(p.hostId())) {
                have.put(p.hostId(), p.id());
            } else {
                tx.update("DELETE FROM port WHERE id = ?", p.id());
                changed.add(p.hostId());
            }
        }
        for (String host : wanted) {
            if (!have.containsKey(host)) {
                Network n = network.orElseThrow();
                insert(tx, new Spec(networkId, n.projectId(), "", "", Optional.empty(), true, "dhcp-" + host,
                        Port.DHCP_OWNER, host, "normal", Optional.of(false), Optional.of(dhcp.stream()
                        .map(s -> new IpRequest(Optional.of(s.id()), Optional.empty())).toList()), Optional.empty(),
                        List.of(), false), List.of());
                changed.add(host);
            }
        }
        return changed;
    }

    public Optional<Port> find(String id) {
        return find(sql, id);
    }

    static Optional<Port> find(Sql sql, String id) {
        return load(sql, " WHERE p.id = ?", id).stream().findFirst();
    }

    public Port get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("Port", id));
    }

    public List<Port> list() {
        return load(sql, "");
    }

    public List<Port> ofDevice(String deviceId) {
        return load(sql, " WHERE p.device_id = ?", deviceId);
    }

    /** The network's DHCP server ports (one per host its ports are bound on). */
    public List<Port> dhcpPortsOf(String networkId) {
        return load(sql, " WHERE p.network_id = ? AND p.device_owner = ?", networkId, Port.DHCP_OWNER);
    }

    public long count(String projectId) {
        return sql.count("SELECT COUNT(*) FROM port WHERE project_id = ?", projectId);
    }

    /** Ports with their addresses and groups: three reads, joined here. */
    static List<Port> load(Sql sql, String where, Object... args) {
        Map<String, List<FixedIp>> ips = new HashMap<>();
        sql.list("SELECT a.port_id, a.subnet_id, a.ip_address FROM ip_allocation a JOIN port p ON p.id = a.port_id"
                + where + " ORDER BY a.subnet_id, a.ip_address", r -> ips.computeIfAbsent(r.getString(1),
                k -> new ArrayList<>()).add(new FixedIp(r.getString(2), r.getString(3))), args);
        Map<String, List<String>> sgs = new HashMap<>();
        sql.list("SELECT m.port_id, m.security_group_id FROM port_security_group m JOIN port p ON p.id = m.port_id"
                + where + " ORDER BY m.security_group_id", r -> sgs.computeIfAbsent(r.getString(1),
                k -> new ArrayList<>()).add(r.getString(2)), args);
        return sql.list("SELECT " + COLUMNS.replaceAll("(^|, )([a-z_]+)", "$1p.$2") + " FROM port p" + where
                + " ORDER BY p.created_at, p.id", r -> row(r, ips, sgs), args);
    }

    private static String pairs(List<AddressPair> pairs) {
        return Columns.join(pairs, p -> List.of(p.ipAddress(), p.macAddress()));
    }

    private static Port row(ResultSet r, Map<String, List<FixedIp>> ips, Map<String, List<String>> sgs)
            throws SQLException {
        String id = r.getString("id");
        return new Port(id, r.getString("network_id"), r.getString("project_id"), r.getString("name"),
                r.getString("description"), r.getString("mac_address"), r.getBoolean("admin_state_up"),
                r.getString("device_id"), r.getString("device_owner"), r.getString("host_id"), r.getString("vnic_type"),
                r.getBoolean("port_security_enabled"), ips.getOrDefault(id, List.of()), sgs.getOrDefault(id, List.of()),
                Columns.split(r.getString("allowed_address_pairs"), p -> new AddressPair(p[0], p[1])),
                r.getBoolean("made_for_server"), Columns.revision(r));
    }
}
