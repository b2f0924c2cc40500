package io.stratus.scheduler.compute;

import io.stratus.database.Sql;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Per-project limits (Nova's os-quota-sets: instances, cores, ram in MiB, key_pairs per user,
 * metadata_items per server); -1 is unlimited. A project without its own row has the configured
 * defaults.
 */
public final class QuotaStore {
    public static final Set<String> RESOURCES = Set.of("instances", "cores", "ram", "key_pairs", "metadata_items");

    private final Sql sql;
    private final Map<String, Long> defaults;

    public QuotaStore(DataSource db, Map<String, Long> defaults) {
        this.sql = new Sql(db);
        this.defaults = Map.copyOf(defaults);
    }

    public Map<String, Long> defaults() {
        Map<String, Long> out = new TreeMap<>();
        for (String r : RESOURCES) {
            out.put(r, defaults.getOrDefault(r, -1L));
        }
        return out;
    }

    public Map<String, Long> limits(String projectId) {
        Map<String, Long> out = defaults();
        for (Map.Entry<String, Long> e : sql.list("SELECT resource, hard_limit FROM quota WHERE project_id = ?",
                r -> Map.entry(r.getString(1), r.getLong(2)), projectId)) {
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    public void set(String projectId, String resource, long limit) {
        if (!RESOURCES.contains(resource)) {
            throw new IllegalArgumentException("no quota '" + resource + "'; quotas are " + RESOURCES);
        }
        if (sql.update("UPDATE quota SET hard_limit = ? WHERE project_id = ? AND resource = ?", limit, projectId,
                resource) == 0) {
            sql.update("INSERT INTO quota (project_id, resource, hard_limit) VALUES (?, ?, ?)", projectId, resource,
                    limit);
        }
    }
}
