package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;

/** Neutron's quotas per project: the defaults below unless a project has limits of its own (-1: none). */
public final class NetworkQuotaStore {
    /** Neutron's default quotas for the resources Stratus serves. */
    public static final Map<String, Long> DEFAULTS = defaults();

    private final Sql sql;

    public NetworkQuotaStore(DataSource db) {
        this.sql = new Sql(db);
    }

    private static Map<String, Long> defaults() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("network", 100L);
        m.put("subnet", 100L);
        m.put("subnetpool", -1L);
        m.put("port", 500L);
        m.put("security_group", 10L);
        m.put("security_group_rule", 100L);
        m.put("router", 10L);
        m.put("floatingip", 50L);
        return java.util.Collections.unmodifiableMap(m);
    }

    public Map<String, Long> limits(String projectId) {
        Map<String, Long> out = new LinkedHashMap<>(DEFAULTS);
        sql.list("SELECT resource, hard_limit FROM network_quota WHERE project_id = ?",
                r -> out.put(r.getString(1), r.getLong(2)), projectId);
        return out;
    }

    /** Whether the project has limits of its own (Neutron lists only those projects). */
    public Map<String, Map<String, Long>> overridden() {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        for (String project : sql.list("SELECT DISTINCT project_id FROM network_quota ORDER BY project_id",
                r -> r.getString(1))) {
            out.put(project, limits(project));
        }
        return out;
    }

    public Map<String, Long> set(String projectId, Map<String, Long> limits) {
        for (Map.Entry<String, Long> e : limits.entrySet()) {
            if (!DEFAULTS.containsKey(e.getKey())) {
                throw NetworkException.invalid("Unrecognized attribute(s) '" + e.getKey() + "'");
            }
            if (e.getValue() < -1) {
                throw NetworkException.invalid("'" + e.getValue() + "' should be non-negative or -1");
            }
            if (sql.update("UPDATE network_quota SET hard_limit = ? WHERE project_id = ? AND resource = ?",
                    e.getValue(), projectId, e.getKey()) == 0) {
                sql.update("INSERT INTO network_quota (project_id, resource, hard_limit) VALUES (?, ?, ?)", projectId,
                        e.getKey(), e.getValue());
            }
        }
        return limits(projectId);
    }

    public void reset(String projectId) {
        sql.update("DELETE FROM network_quota WHERE project_id = ?", projectId);
    }

    /** 409 OverQuota when {@code used + adding} would pass the project's limit of {@code resource}. */
    public void check(String projectId, String resource, long used, long adding) {
        long limit = limits(projectId).getOrDefault(resource, -1L);
        if (limit >= 0 && used + adding > limit) {
            throw new NetworkException(NetworkException.Kind.OVER_QUOTA, "OverQuota",
                    "Quota exceeded for resources: ['" + resource + "'].");
        }
    }
}
