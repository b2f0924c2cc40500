package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/** Subnet pools in the scheduler's database; subnets carved from one hold its id (see {@link SubnetStore}). */
public final class SubnetPoolStore {
    private static final String COLUMNS = "id, project_id, name, description, ip_version, prefixes, default_prefixlen,"
            + " min_prefixlen, max_prefixlen, shared, is_default, " + Columns.REVISION;

    private final Sql sql;
    private final Clock clock;

    public SubnetPoolStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    /** Records a pool; its prefixes must be of one IP version and its lengths in order. */
    public SubnetPool create(SubnetPool p) {
        check(p);
        String id = UUID.randomUUID().toString();
        sql.update("INSERT INTO subnet_pool (" + COLUMNS + ") VALUES (" + Columns.marks(14) + ")", id, p.projectId(),
                p.name(), p.description(), p.ipVersion(), prefixes(p), p.defaultPrefixlen(), p.minPrefixlen(),
                p.maxPrefixlen(), p.shared(), p.isDefault(), clock.instant(), clock.instant(), 0L);
        return get(id);
    }

    private static void check(SubnetPool p) {
        if (p.prefixes().isEmpty() || p.prefixes().stream().anyMatch(c -> c.version() != p.ipVersion())) {
            throw NetworkException.invalid("a subnet pool needs prefixes, all of one IP version");
        }
        int bits = p.ipVersion() == 4 ? 32 : 128;
        if (p.minPrefixlen() > p.defaultPrefixlen() || p.defaultPrefixlen() > p.maxPrefixlen() || p.maxPrefixlen() > bits
                || p.minPrefixlen() < 0) {
            throw NetworkException.invalid("min_prefixlen <= default_prefixlen <= max_prefixlen <= " + bits
                    + " must hold");
        }
    }

    public Optional<SubnetPool> find(String id) {
        return find(sql, id);
    }

    static Optional<SubnetPool> find(Sql sql, String id) {
        return sql.one("SELECT " + COLUMNS + " FROM subnet_pool WHERE id = ?", SubnetPoolStore::row, id);
    }

    public SubnetPool get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("SubnetPool", id));
    }

    public List<SubnetPool> list() {
        return sql.list("SELECT " + COLUMNS + " FROM subnet_pool ORDER BY created_at, id", SubnetPoolStore::row);
    }

    public SubnetPool update(SubnetPool p) {
        check(p);
        sql.update("UPDATE subnet_pool SET name = ?, description = ?, prefixes = ?, default_prefixlen = ?,"
                + " min_prefixlen = ?, max_prefixlen = ?, shared = ?, is_default = ?, updated_at = ?,"
                + " revision_number = revision_number + 1 WHERE id = ?", p.name(), p.description(), prefixes(p),
                p.defaultPrefixlen(), p.minPrefixlen(), p.maxPrefixlen(), p.shared(), p.isDefault(), clock.instant(),
                p.id());
        return get(p.id());
    }

    /** Deletes a pool; 409 SubnetPoolInUse while subnets carved from it exist. */
    public void delete(String id) {
        get(id);
        if (sql.count("SELECT COUNT(*) FROM subnet WHERE subnetpool_id = ?", id) > 0) {
            throw NetworkException.conflict("SubnetPoolInUse", "Subnet pool " + id + " cannot be deleted: subnets"
                    + " are allocated from it.");
        }
        sql.update("DELETE FROM subnet_pool WHERE id = ?", id);
    }

    private static String prefixes(SubnetPool p) {
        return Columns.join(p.prefixes(), c -> List.of(c.toString()));
    }

    private static SubnetPool row(ResultSet r) throws SQLException {
        return new SubnetPool(r.getString("id"), r.getString("project_id"), r.getString("name"),
                r.getString("description"), r.getInt("ip_version"),
                Columns.split(r.getString("prefixes"), p -> Cidr.parse(p[0]).orElseThrow()),
                r.getInt("default_prefixlen"), r.getInt("min_prefixlen"), r.getInt("max_prefixlen"),
                r.getBoolean("shared"), r.getBoolean("is_default"), Columns.revision(r));
    }
}
