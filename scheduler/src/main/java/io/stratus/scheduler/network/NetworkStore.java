package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * Networks in the scheduler's database. A VXLAN network without a segmentation id gets the lowest
 * free VNI; the column is unique, so two replicas that pick the same one cannot both keep it.
 * Deleting a network takes its subnets and DHCP ports with it, and refuses while other ports remain.
 */
public final class NetworkStore {
    static final int MAX_VNI = (1 << 24) - 1;
    private static final String COLUMNS = "id, project_id, name, description, admin_state_up, shared, router_external,"
            + " network_type, segmentation_id, physical_network, mtu, port_security_enabled, " + Columns.REVISION;

    /** What a create names; empty parts take Neutron's defaults. */
    public record Spec(String projectId, String name, String description, boolean adminStateUp, boolean shared,
                       boolean external, Optional<NetworkType> type, Optional<Integer> segmentationId,
                       Optional<String> physicalNetwork, Optional<Integer> mtu, boolean portSecurityEnabled) {
    }

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final Consumer<Set<String>> hostsChanged;

    /** @param hostsChanged told, after a change commits, the hosts whose network state it changed */
    public NetworkStore(DataSource db, Clock clock, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.hostsChanged = hostsChanged;
    }

    public Network create(Spec s) {
        NetworkType type = s.type().orElse(s.physicalNetwork().isPresent() ? NetworkType.FLAT : NetworkType.VXLAN);
        if (type == NetworkType.FLAT && (s.physicalNetwork().isEmpty() || s.segmentationId().isPresent())) {
            throw NetworkException.invalid("a flat network needs provider:physical_network and takes no"
                    + " provider:segmentation_id");
        }
        if (type == NetworkType.VXLAN && s.physicalNetwork().isPresent()) {
            throw NetworkException.invalid("a vxlan network takes no provider:physical_network");
        }
        s.segmentationId().filter(v -> v < 1 || v > MAX_VNI).ifPresent(v -> {
            throw NetworkException.invalid("provider:segmentation_id " + v + " is not a VNI (1 to " + MAX_VNI + ")");
        });
        // The VXLAN header's 50 bytes come off the underlay's 1500.
        int mtu = s.mtu().orElse(type == NetworkType.VXLAN ? 1450 : 1500);
        String id = UUID.randomUUID().toString();
        return Atomically.run(db, tx -> {
            Optional<Integer> vni = Optional.empty();
            if (type == NetworkType.VXLAN) {
                vni = Optional.of(s.segmentationId().map(v -> {
                    if (tx.count("SELECT COUNT(*) FROM network WHERE segmentation_id = ?", v) > 0) {
                        throw NetworkException.conflict("TunnelIdInUse", "Unable to create the network. The tunnel ID "
                                + v + " is in use.");
                    }
                    return v;
                }).orElseGet(() -> freeVni(tx)));
            } else if (tx.count("SELECT COUNT(*) FROM network WHERE network_type = 'FLAT' AND physical_network = ?",
                    s.physicalNetwork().get()) > 0) {
                throw NetworkException.conflict("FlatNetworkInUse", "Unable to create the flat network. Physical"
                        + " network " + s.physicalNetwork().get() + " is in use.");
            }
            Atomically.insertPicked(tx, "INSERT INTO network (" + COLUMNS + ") VALUES (" + Columns.marks(15) + ")", id,
                    s.projectId(), s.name(), s.description(), s.adminStateUp(), s.shared(), s.external(), type.name(),
                    vni.orElse(null), s.physicalNetwork().orElse(null), mtu, s.portSecurityEnabled(), clock.instant(),
                    clock.instant(), 0L);
            return find(tx, id).orElseThrow();
        });
    }

    private static int freeVni(Sql tx) {
        int expected = 1;
        for (int used : tx.list("SELECT segmentation_id FROM network WHERE segmentation_id IS NOT NULL ORDER BY"
                + " segmentation_id", r -> r.getInt(1))) {
            if (used != expected) {
                break;
            }
            expected++;
        }
        if (expected > MAX_VNI) {
            throw NetworkException.conflict("NoNetworkAvailable", "Unable to create the network. No tenant network"
                    + " is available for allocation.");
        }
        return expected;
    }

    public Optional<Network> find(String id) {
        return find(sql, id);
    }

    static Optional<Network> find(Sql sql, String id) {
        return sql.one("SELECT " + COLUMNS + " FROM network WHERE id = ?", NetworkStore::row, id);
    }

    public Network get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("Network", id));
    }

    public List<Network> list() {
        return sql.list("SELECT " + COLUMNS + " FROM network ORDER BY created_at, id", NetworkStore::row);
    }

    /** Writes a network's changeable attributes (the provider ones stay as created). */
    public Network update(Network n) {
        Set<String> hosts = Transaction.run(db, tx -> {
            if (!n.external() && (tx.count("SELECT COUNT(*) FROM router WHERE gateway_network_id = ?", n.id()) > 0
                    || tx.count("SELECT COUNT(*) FROM floating_ip WHERE floating_network_id = ?", n.id()) > 0)) {
                throw NetworkException.conflict("ExternalNetworkInUse", "External network " + n.id() + " cannot be"
                        + " updated, since it has existing gateway ports.");
            }
            if (tx.update("UPDATE network SET name = ?, description = ?, admin_state_up = ?, shared = ?,"
                    + " router_external = ?, mtu = ?, port_security_enabled = ?, updated_at = ?,"
                    + " revision_number = revision_number + 1 WHERE id = ?", n.name(), n.description(),
                    n.adminStateUp(), n.shared(), n.external(), n.mtu(), n.portSecurityEnabled(), clock.instant(),
                    n.id()) == 0) {
                throw NetworkException.notFound("Network", n.id());
            }
            Set<String> affected = HostNetworks.onNetwork(tx, n.id());
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
        return get(n.id());
    }

    /**
     * Deletes a network with its subnets and DHCP ports; 409 NetworkInUse while any other port is on it
     * (Neutron's DHCP ports are its own, not the user's).
     */
    public void delete(String id) {
        Set<String> hosts = Transaction.run(db, tx -> {
            find(tx, id).orElseThrow(() -> NetworkException.notFound("Network", id));
            if (tx.count("SELECT COUNT(*) FROM port WHERE network_id = ? AND device_owner <> ?", id,
                    Port.DHCP_OWNER) > 0) {
                throw NetworkException.conflict("NetworkInUse", "Unable to complete operation on network " + id
                        + ". There are one or more ports still in use on the network.");
            }
            Set<String> affected = HostNetworks.onNetwork(tx, id);
            tx.update("DELETE FROM ip_allocation WHERE network_id = ?", id);
            tx.update("DELETE FROM port WHERE network_id = ?", id);
            tx.update("DELETE FROM subnet WHERE network_id = ?", id);
            tx.update("DELETE FROM network WHERE id = ?", id);
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    public long count(String projectId) {
        return sql.count("SELECT COUNT(*) FROM network WHERE project_id = ?", projectId);
    }

    private static Network row(ResultSet r) throws SQLException {
        return new Network(r.getString("id"), r.getString("project_id"), r.getString("name"),
                r.getString("description"), r.getBoolean("admin_state_up"), r.getBoolean("shared"),
                r.getBoolean("router_external"), NetworkType.valueOf(r.getString("network_type")),
                Columns.optionalInt(r, "segmentation_id"), Columns.optional(r, "physical_network"), r.getInt("mtu"),
                r.getBoolean("port_security_enabled"), Columns.revision(r));
    }
}
