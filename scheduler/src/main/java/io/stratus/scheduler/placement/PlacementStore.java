package io.stratus.scheduler.placement;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Inventories and allocations in the scheduler's database (H2 or PostgreSQL, plain SQL). Every
 * change to a host bumps its generation; {@link #claim} writes allocations only if the host's
 * generation is still the one the caller saw, in one transaction, so two schedulers that picked
 * the same host on the same view cannot both have it.
 */
public final class PlacementStore {
    private final DataSource dataSource;

    public PlacementStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Sets a host's inventories (replacing the previous ones); registers the host, enabled, on first use. */
    public void putInventory(String provider, Map<ResourceClass, Inventory> inventory) {
        putInventory(provider, inventory, Optional.empty());
    }

    /**
     * Sets a host's inventories (replacing the previous ones); registers the host on first use,
     * disabled with {@code disabledIfNew}'s reason (the operator's note, as os-services shows it)
     * when one is given: in the same transaction, so no boot is placed on it in between.
     */
    public void putInventory(String provider, Map<ResourceClass, Inventory> inventory, Optional<String> disabledIfNew) {
        inTransaction(c -> {
            if (bump(c, provider) == 0) {
                try (PreparedStatement s = c.prepareStatement(
                        "INSERT INTO resource_provider (name, generation, disabled) VALUES (?, 0, ?)")) {
                    s.setString(1, provider);
                    s.setBoolean(2, disabledIfNew.isPresent());
                    s.executeUpdate();
                }
                if (disabledIfNew.isPresent()) {
                    try (PreparedStatement s = c.prepareStatement("DELETE FROM compute_service WHERE host = ?")) {
                        s.setString(1, provider);
                        s.executeUpdate();
                    }
                    try (PreparedStatement s = c.prepareStatement(
                            "INSERT INTO compute_service (host, disabled_reason) VALUES (?, ?)")) {
                        s.setString(1, provider);
                        s.setString(2, disabledIfNew.get());
                        s.executeUpdate();
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("DELETE FROM inventory WHERE provider = ?")) {
                s.setString(1, provider);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO inventory (provider, resource_class, total,"
                    + " reserved, allocation_ratio) VALUES (?, ?, ?, ?, ?)")) {
                for (Map.Entry<ResourceClass, Inventory> e : inventory.entrySet()) {
                    s.setString(1, provider);
                    s.setString(2, e.getKey().name());
                    s.setLong(3, e.getValue().total());
                    s.setLong(4, e.getValue().reserved());
                    s.setDouble(5, e.getValue().allocationRatio());
                    s.addBatch();
                }
                s.executeBatch();
            }
            return null;
        });
    }

    /** Takes a host out of placement (or puts it back); its allocations stay. */
    public void setDisabled(String provider, boolean disabled) {
        inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "UPDATE resource_provider SET disabled = ?, generation = generation + 1 WHERE name = ?")) {
                s.setBoolean(1, disabled);
                s.setString(2, provider);
                if (s.executeUpdate() == 0) {
                    throw new IllegalArgumentException("no host " + provider + " in placement");
                }
            }
            return null;
        });
    }

    /** One host's view. */
    public Optional<ProviderUsage> usage(String provider) {
        List<ProviderUsage> found = load(provider);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    /** Enabled hosts where {@code request} fits now, in name order. */
    public List<ProviderUsage> candidates(ResourceRequest request) {
        return load(null).stream().filter(p -> !p.disabled() && p.fits(request)).toList();
    }

    /** Every host's view (operators' listings). */
    public List<ProviderUsage> all() {
        return load(null);
    }

    private List<ProviderUsage> load(String only) {
        String where = only == null ? "" : " WHERE p.name = ?";
        Map<String, long[]> providers = new LinkedHashMap<>();
        Map<String, Boolean> disabled = new HashMap<>();
        Map<String, Map<ResourceClass, Inventory>> inventories = new HashMap<>();
        Map<String, Map<ResourceClass, Long>> used = new HashMap<>();
        try (Connection c = dataSource.getConnection()) {
            // One snapshot per provider: read it in a transaction so generation, inventory and usage agree.
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (PreparedStatement s = c.prepareStatement("SELECT p.name, p.generation, p.disabled, i.resource_class,"
                    + " i.total, i.reserved, i.allocation_ratio FROM resource_provider p LEFT JOIN inventory i"
                    + " ON i.provider = p.name" + where + " ORDER BY p.name")) {
                if (only != null) {
                    s.setString(1, only);
                }
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        String name = r.getString(1);
                        providers.put(name, new long[] {r.getLong(2)});
                        disabled.put(name, r.getBoolean(3));
                        Map<ResourceClass, Inventory> inv = inventories.computeIfAbsent(name,
                                k -> new EnumMap<>(ResourceClass.class));
                        String rc = r.getString(4);
                        if (rc != null) {
                            inv.put(ResourceClass.valueOf(rc), new Inventory(r.getLong(5), r.getLong(6),
                                    r.getDouble(7)));
                        }
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("SELECT provider, resource_class, SUM(used) FROM allocation"
                    + (only == null ? "" : " WHERE provider = ?") + " GROUP BY provider, resource_class")) {
                if (only != null) {
                    s.setString(1, only);
                }
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        used.computeIfAbsent(r.getString(1), k -> new EnumMap<>(ResourceClass.class))
                                .put(ResourceClass.valueOf(r.getString(2)), r.getLong(3));
                    }
                }
            }
            c.commit();
        } catch (SQLException e) {
            throw new PlacementException("cannot read placement: " + e.getMessage(), e);
        }
        List<ProviderUsage> out = new ArrayList<>();
        providers.forEach((name, gen) -> out.add(new ProviderUsage(name, gen[0], disabled.get(name),
                inventories.getOrDefault(name, Map.of()), used.getOrDefault(name, Map.of()))));
        return out;
    }

    /**
     * Allocates {@code request} on the host {@code seen} describes, for {@code consumer}, if the
     * host is still at {@code seen.generation()} and enabled. Returns false when it changed (the
     * caller looks again); nothing is written then.
     *
     * @throws IllegalArgumentException the request does not fit the view (a caller bug)
     * @throws PlacementException the consumer already holds allocations, or the database failed
     */
    public boolean claim(String consumer, ProviderUsage seen, ResourceRequest request) {
        if (!seen.fits(request)) {
            throw new IllegalArgumentException("the request does not fit host " + seen.name() + " as seen");
        }
        return inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE resource_provider SET generation = generation + 1"
                    + " WHERE name = ? AND generation = ? AND disabled = FALSE")) {
                s.setString(1, seen.name());
                s.setLong(2, seen.generation());
                if (s.executeUpdate() == 0) {
                    c.rollback();
                    return false;
                }
            }
            // The generation did not move since the view was read, so no allocation was added since: the
            // view's free amounts hold, and this transaction now holds the host's row until it commits.
            try (PreparedStatement s = c.prepareStatement(
                    "INSERT INTO allocation (consumer, provider, resource_class, used) VALUES (?, ?, ?, ?)")) {
                for (Map.Entry<ResourceClass, Long> e : request.amounts().entrySet()) {
                    s.setString(1, consumer);
                    s.setString(2, seen.name());
                    s.setString(3, e.getKey().name());
                    s.setLong(4, e.getValue());
                    s.addBatch();
                }
                s.executeBatch();
            } catch (SQLException e) {
                throw new PlacementException("instance " + consumer + " already holds allocations on host "
                        + seen.name() + " (" + e.getMessage() + ")", e);
            }
            return true;
        });
    }

    /** Gives back everything {@code consumer} holds; returns whether it held anything. */
    public boolean release(String consumer) {
        return inTransaction(c -> {
            List<String> hosts = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT DISTINCT provider FROM allocation WHERE consumer = ?")) {
                s.setString(1, consumer);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        hosts.add(r.getString(1));
                    }
                }
            }
            for (String h : hosts) {
                bump(c, h);
            }
            try (PreparedStatement s = c.prepareStatement("DELETE FROM allocation WHERE consumer = ?")) {
                s.setString(1, consumer);
                s.executeUpdate();
            }
            return !hosts.isEmpty();
        });
    }

    /**
     * Makes what {@code from} holds {@code consumer}'s, giving back what {@code consumer} held:
     * a confirmed resize keeps the new size's claim, made under a consumer of its own, and frees
     * the old one. When {@code from} holds nothing, nothing changes and the result is false.
     */
    public boolean replace(String consumer, String from) {
        return inTransaction(c -> {
            List<String> hosts = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT DISTINCT provider FROM allocation WHERE consumer = ? OR consumer = ?")) {
                s.setString(1, consumer);
                s.setString(2, from);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        hosts.add(r.getString(1));
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM allocation WHERE consumer = ?")) {
                s.setString(1, from);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    if (r.getLong(1) == 0) {
                        return false;
                    }
                }
            }
            for (String h : hosts) {
                bump(c, h);
            }
            int moved;
            try (PreparedStatement del = c.prepareStatement("DELETE FROM allocation WHERE consumer = ?");
                 PreparedStatement mv = c.prepareStatement("UPDATE allocation SET consumer = ? WHERE consumer = ?")) {
                del.setString(1, consumer);
                del.executeUpdate();
                mv.setString(1, consumer);
                mv.setString(2, from);
                moved = mv.executeUpdate();
            }
            return moved > 0;
        });
    }

    /** What {@code consumer} holds, by host. */
    public Map<String, Map<ResourceClass, Long>> allocations(String consumer) {
        Map<String, Map<ResourceClass, Long>> out = new LinkedHashMap<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "SELECT provider, resource_class, used FROM allocation WHERE consumer = ? ORDER BY provider")) {
            s.setString(1, consumer);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.computeIfAbsent(r.getString(1), k -> new EnumMap<>(ResourceClass.class))
                            .put(ResourceClass.valueOf(r.getString(2)), r.getLong(3));
                }
            }
        } catch (SQLException e) {
            throw new PlacementException("cannot read the allocations of " + consumer + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static int bump(Connection c, String provider) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(
                "UPDATE resource_provider SET generation = generation + 1 WHERE name = ?")) {
            s.setString(1, provider);
            return s.executeUpdate();
        }
    }

    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T inTransaction(Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new PlacementException("placement database: " + e.getMessage(), e);
        }
    }
}
