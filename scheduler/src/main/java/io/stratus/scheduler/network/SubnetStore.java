package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import io.stratus.scheduler.network.Subnet.AddressRange;
import io.stratus.scheduler.network.Subnet.HostRoute;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Subnets in the scheduler's database, checked as Neutron checks them: no two subnets of a network
 * overlap, allocation pools lie inside the CIDR and apart from each other and the gateway. A subnet
 * from a pool takes the first free prefix of the asked length among the pool's prefixes.
 */
public final class SubnetStore {
    private static final String COLUMNS = "id, network_id, project_id, name, description, ip_version, cidr, gateway_ip,"
            + " enable_dhcp, dns_nameservers, host_routes, allocation_pools, ipv6_ra_mode, ipv6_address_mode,"
            + " subnetpool_id, " + Columns.REVISION;

    /** The gateway a create asks for: Neutron's default (the first address), none, or this one. */
    public sealed interface Gateway {
        record Default() implements Gateway {
        }

        record None() implements Gateway {
        }

        record At(IpAddress address) implements Gateway {
        }
    }

    /** Where a new subnet's addresses come from: a CIDR, or a pool and a prefix length. */
    public sealed interface Prefix {
        record Given(Cidr cidr) implements Prefix {
        }

        record FromPool(String poolId, Optional<Integer> prefixlen) implements Prefix {
        }
    }

    public record Spec(String networkId, String projectId, String name, String description, int ipVersion,
                       Prefix prefix, Gateway gateway, boolean enableDhcp, List<String> dnsNameservers,
                       List<HostRoute> hostRoutes, Optional<List<AddressRange>> allocationPools,
                       Optional<String> ipv6RaMode, Optional<String> ipv6AddressMode) {
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final Consumer<Set<String>> hostsChanged;

    public SubnetStore(DataSource db, Clock clock, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.hostsChanged = hostsChanged;
    }

    public Subnet create(Spec s) {
        String id = UUID.randomUUID().toString();
        Subnet created = Transaction.run(db, tx -> {
            NetworkStore.find(tx, s.networkId()).orElseThrow(() -> NetworkException.notFound("Network",
                    s.networkId()));
            Optional<String> poolId = s.prefix() instanceof Prefix.FromPool p ? Optional.of(p.poolId())
                    : Optional.empty();
            Cidr cidr = s.prefix() instanceof Prefix.FromPool p ? carve(tx, p, s.ipVersion())
                    : ((Prefix.Given) s.prefix()).cidr();
            if (cidr.version() != s.ipVersion()) {
                throw NetworkException.invalid("the cidr " + cidr + " is not an IPv" + s.ipVersion() + " prefix");
            }
            for (Subnet other : of(tx, s.networkId())) {
                if (other.cidr().overlaps(cidr)) {
                    throw NetworkException.invalid("Requested subnet with cidr: " + cidr + " for network: "
                            + s.networkId() + " overlaps with another subnet.");
                }
            }
            Optional<IpAddress> gateway = s.gateway() instanceof Gateway.At a ? Optional.of(a.address())
                    : s.gateway() instanceof Gateway.None ? Optional.empty() : Optional.of(cidr.network().plus(1));
            List<AddressRange> pools = s.allocationPools().orElseGet(() -> defaultPools(cidr, gateway));
            Subnet subnet = new Subnet(id, s.networkId(), s.projectId(), s.name(), s.description(), cidr, gateway,
                    s.enableDhcp(), s.dnsNameservers(), s.hostRoutes(), pools, s.ipv6RaMode(), s.ipv6AddressMode(),
                    poolId, Revision.first(clock.instant()));
            check(subnet);
            tx.update("INSERT INTO subnet (" + COLUMNS + ") VALUES (" + Columns.marks(18) + ")", id, s.networkId(),
                    s.projectId(), s.name(), s.description(), cidr.version(), cidr.toString(),
                    gateway.map(IpAddress::toString).orElse(null), s.enableDhcp(), String.join(";",
                            s.dnsNameservers()), routes(s.hostRoutes()), ranges(pools), s.ipv6RaMode().orElse(null),
                    s.ipv6AddressMode().orElse(null), poolId.orElse(null), clock.instant(), clock.instant(), 0L);
            return subnet;
        });
        changed(created.networkId());
        return get(id);
    }

    /** Neutron's pools when none are given: the whole prefix but its network address, broadcast and gateway. */
    static List<AddressRange> defaultPools(Cidr cidr, Optional<IpAddress> gateway) {
        IpAddress first = cidr.network().plus(1);
        IpAddress last = cidr.version() == 4 ? cidr.last().plus(-1) : cidr.last();
        if (first.compareTo(last) > 0) {
            return List.of();
        }
        List<AddressRange> pools = new ArrayList<>();
        if (gateway.isPresent() && new AddressRange(first, last).contains(gateway.get())) {
            IpAddress g = gateway.get();
            if (g.compareTo(first) > 0) {
                pools.add(new AddressRange(first, g.plus(-1)));
            }
            if (g.compareTo(last) < 0) {
                pools.add(new AddressRange(g.plus(1), last));
            }
        } else {
            pools.add(new AddressRange(first, last));
        }
        return pools;
    }

    /** The checks that hold for every subnet, created or changed. */
    private static void check(Subnet s) {
        Cidr cidr = s.cidr();
        s.gateway().ifPresent(g -> {
            if (!cidr.contains(g) || (cidr.version() == 4 && cidr.prefix() < 31
                    && (g.equals(cidr.network()) || g.equals(cidr.last())))) {
                throw NetworkException.invalid("Gateway IP " + g + " conflicts with subnet " + cidr + ".");
            }
        });
        List<AddressRange> pools = s.allocationPools();
        for (int i = 0; i < pools.size(); i++) {
            AddressRange p = pools.get(i);
            if (p.start().version() != cidr.version() || p.start().compareTo(p.end()) > 0) {
                throw new NetworkException(NetworkException.Kind.INVALID, "InvalidAllocationPool",
                        "The allocation pool " + p.start() + "-" + p.end() + " is not valid.");
            }
            if (!cidr.contains(p.start()) || !cidr.contains(p.end())) {
                throw new NetworkException(NetworkException.Kind.INVALID, "OutOfBoundsAllocationPool",
                        "The allocation pool " + p.start() + "-" + p.end() + " spans beyond the subnet cidr " + cidr
                                + ".");
            }
            for (int j = 0; j < i; j++) {
                if (pools.get(j).overlaps(p)) {
                    throw new NetworkException(NetworkException.Kind.INVALID, "OverlappingAllocationPools",
                            "Found overlapping allocation pools: " + pools.get(j).start() + "-" + pools.get(j).end()
                                    + " and " + p.start() + "-" + p.end() + " for subnet " + cidr + ".");
                }
            }
            s.gateway().filter(p::contains).ifPresent(g -> {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "GatewayConflictWithAllocationPools",
                        "Gateway ip " + g + " conflicts with allocation pool " + p.start() + "-" + p.end() + ".");
            });
        }
    }

    /** The first prefix of the asked length in the pool that no subnet from the pool overlaps. */
    private static Cidr carve(Sql tx, Prefix.FromPool p, int ipVersion) {
        SubnetPool pool = SubnetPoolStore.find(tx, p.poolId()).orElseThrow(() ->
                NetworkException.notFound("SubnetPool", p.poolId()));
        int length = p.prefixlen().orElse(pool.defaultPrefixlen());
        if (length < pool.minPrefixlen() || length > pool.maxPrefixlen()) {
            throw NetworkException.invalid("prefixlen " + length + " is outside the pool's " + pool.minPrefixlen()
                    + " to " + pool.maxPrefixlen());
        }
        List<Cidr> taken = tx.list("SELECT cidr FROM subnet WHERE subnetpool_id = ?",
                r -> Cidr.parse(r.getString(1)).orElseThrow(), pool.id());
        for (Cidr prefix : pool.prefixes()) {
            if (prefix.prefix() > length) {
                continue;
            }
            for (Cidr c = Cidr.of(prefix.network(), length); prefix.contains(c.network()); c = c.next()) {
                Cidr candidate = c;
                if (taken.stream().noneMatch(t -> t.overlaps(candidate))) {
                    return candidate;
                }
                if (c.last().equals(prefix.last())) {
                    break;
                }
            }
        }
        throw new NetworkException(NetworkException.Kind.CONFLICT, "SubnetAllocationError",
                "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /" + length + ".");
    }

    public Optional<Subnet> find(String id) {
        return find(sql, id);
    }

    static Optional<Subnet> find(Sql sql, String id) {
        return sql.one("SELECT " + COLUMNS + " FROM subnet WHERE id = ?", SubnetStore::row, id);
    }

    public Subnet get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("Subnet", id));
    }

    public List<Subnet> list() {
        return sql.list("SELECT " + COLUMNS + " FROM subnet ORDER BY created_at, id", SubnetStore::row);
    }

    public List<Subnet> of(String networkId) {
        return of(sql, networkId);
    }

    static List<Subnet> of(Sql sql, String networkId) {
        return sql.list("SELECT " + COLUMNS + " FROM subnet WHERE network_id = ? ORDER BY created_at, id",
                SubnetStore::row, networkId);
    }

    /** Writes a subnet's changeable attributes; its CIDR, version and network stay. */
    public Subnet update(Subnet s) {
        check(s);
        Transaction.run(db, tx -> {
            if (tx.update("UPDATE subnet SET name = ?, description = ?, gateway_ip = ?, enable_dhcp = ?,"
                    + " dns_nameservers = ?, host_routes = ?, allocation_pools = ?, updated_at = ?,"
                    + " revision_number = revision_number + 1 WHERE id = ?", s.name(), s.description(),
                    s.gateway().map(IpAddress::toString).orElse(null), s.enableDhcp(),
                    String.join(";", s.dnsNameservers()), routes(s.hostRoutes()), ranges(s.allocationPools()),
                    clock.instant(), s.id()) == 0) {
                throw NetworkException.notFound("Subnet", s.id());
            }
            HostNetworks.bump(tx, HostNetworks.onNetwork(tx, s.networkId()));
            return null;
        });
        changed(s.networkId());
        return get(s.id());
    }

    /** Deletes a subnet; 409 SubnetInUse while a port other than a DHCP port has an address in it. */
    public void delete(String id) {
        Subnet s = get(id);
        Transaction.run(db, tx -> {
            if (tx.count("SELECT COUNT(*) FROM ip_allocation a JOIN port p ON p.id = a.port_id WHERE a.subnet_id = ?"
                    + " AND p.device_owner <> ?", id, Port.DHCP_OWNER) > 0) {
                throw NetworkException.conflict("SubnetInUse", "Unable to complete operation on subnet " + id
                        + ": One or more ports have an IP allocation from this subnet.");
            }
            tx.update("DELETE FROM ip_allocation WHERE subnet_id = ?", id);
            tx.update("DELETE FROM subnet WHERE id = ?", id);
            HostNetworks.bump(tx, HostNetworks.onNetwork(tx, s.networkId()));
            return null;
        });
        changed(s.networkId());
    }

    public long count(String projectId) {
        return sql.count("SELECT COUNT(*) FROM subnet WHERE project_id = ?", projectId);
    }

    private void changed(String networkId) {
        hostsChanged.accept(HostNetworks.onNetwork(sql, networkId));
    }

    private static String routes(List<HostRoute> routes) {
        return Columns.join(routes, r -> List.of(r.destination(), r.nexthop()));
    }

    private static String ranges(List<AddressRange> pools) {
        return Columns.join(pools, p -> List.of(p.start().toString(), p.end().toString()));
    }

    private static Subnet row(ResultSet r) throws SQLException {
        String dns = r.getString("dns_nameservers");
        return new Subnet(r.getString("id"), r.getString("network_id"), r.getString("project_id"), r.getString("name"),
                r.getString("description"), Cidr.parse(r.getString("cidr")).orElseThrow(),
                Columns.optional(r, "gateway_ip").flatMap(IpAddress::parse), r.getBoolean("enable_dhcp"),
                dns.isEmpty() ? List.of() : Arrays.asList(dns.split(";")),
                Columns.split(r.getString("host_routes"), p -> new HostRoute(p[0], p[1])),
                Columns.split(r.getString("allocation_pools"), p -> new AddressRange(IpAddress.parse(p[0])
                        .orElseThrow(), IpAddress.parse(p[1]).orElseThrow())),
                Columns.optional(r, "ipv6_ra_mode"), Columns.optional(r, "ipv6_address_mode"),
                Columns.optional(r, "subnetpool_id"), Columns.revision(r));
    }
}
