package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Cinder's quotas per project ({@code volumes}, {@code gigabytes}, {@code snapshots},
 * {@code backups}, {@code backup_gigabytes}, {@code groups}, {@code per_volume_gigabytes}; -1 is
 * unlimited): a project's own limits over the defaults.
 */
public final class VolumeQuotaStore {
    /** Cinder's defaults. */
    public static final Map<String, Long> DEFAULTS = defaults();

    private final Sql sql;

    public VolumeQuotaStore(DataSource db) {
        this.sql = new Sql(db);
    }

    private static Map<String, Long> defaults() {
        Map<String, Long> d = new LinkedHashMap<>();
        d.put("volumes", 10L);
        d.put("gigabytes", 1000L);
        d.put("snapshots", 10L);
        d.put("backups", 10L);
        d.put("backup_gigabytes", 1000L);
        d.put("groups", 10L);
        d.put("per_volume_gigabytes", -1L);
        d.put("volumes___DEFAULT__", -1L);
        d.put("gigabytes___DEFAULT__", -1L);
        d.put("snapshots___DEFAULT__", -1L);
        return Map.copyOf(d);
    }

    /** The project's limits: its own where set, the defaults elsewhere. */
    public Map<String, Long> limits(String projectId) {
        Map<String, Long> out = new LinkedHashMap<>();
        DEFAULTS.keySet().stream().sorted().forEach(k -> out.put(k, DEFAULTS.get(k)));
        sql.list("SELECT resource, hard_limit FROM volume_quota WHERE project_id = ?",
                r -> out.put(r.getString(1), r.getLong(2)), projectId);
        return out;
    }

    public void set(String projectId, String resource, long limit) {
        if (!DEFAULTS.containsKey(resource)) {
            throw VolumeException.invalid("Bad key(s) in quota set: " + resource);
        }
        sql.update("DELETE FROM volume_quota WHERE project_id = ? AND resource = ?", projectId, resource);
        sql.update("INSERT INTO volume_quota (project_id, resource, hard_limit) VALUES (?, ?, ?)", projectId, resource,
                limit);
    }

    /** Forgets the project's own limits. */
    public void reset(String projectId) {
        sql.update("DELETE FROM volume_quota WHERE project_id = ?", projectId);
    }

    /**
     * Refuses when {@code used + more} passes the project's limit for {@code resource} (Cinder's 413
     * VolumeLimitExceeded / VolumeSizeExceedsAvailableQuota).
     */
    public void check(String projectId, String resource, long used, long more) {
        long limit = limits(projectId).getOrDefault(resource, -1L);
        if (limit >= 0 && used + more > limit) {
            throw new VolumeException(VolumeException.Kind.OVER_QUOTA, "VolumeLimitExceeded: Maximum number of "
                    + resource + " allowed (" + limit + ") exceeded for quota '" + resource + "'; " + used
                    + " in use, " + more + " requested.");
        }
    }
}
