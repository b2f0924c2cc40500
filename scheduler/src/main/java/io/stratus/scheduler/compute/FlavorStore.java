package io.stratus.scheduler.compute;

import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.NotFound;
import io.stratus.database.Sql;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** The flavors, in the scheduler's database. */
public final class FlavorStore {
    private static final String COLUMNS = "id, name, vcpus, ram_mib, disk_gib, is_public";
    private final Sql sql;
    private final Clock clock;

    public FlavorStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    /** Nova's classic flavors, created when there are none at all. */
    public void seedDefaults() {
        if (sql.count("SELECT COUNT(*) FROM flavor") > 0) {
            return;
        }
        create(new Flavor("1", "m1.tiny", 1, 512, 1, true));
        create(new Flavor("2", "m1.small", 1, 2048, 20, true));
        create(new Flavor("3", "m1.medium", 2, 4096, 40, true));
        create(new Flavor("4", "m1.large", 4, 8192, 80, true));
    }

    public Flavor create(Flavor f) {
        try {
            sql.update("INSERT INTO flavor (" + COLUMNS + ", created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", f.id(), f.name(),
                    f.vcpus(), f.ramMib(), f.diskGib(), f.isPublic(), clock.instant());
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                throw new Conflict("a flavor with id " + f.id() + " or name " + f.name() + " exists already");
            }
            throw e;
        }
        return f;
    }

    public List<Flavor> all() {
        return sql.list("SELECT " + COLUMNS + " FROM flavor ORDER BY ram_mib, id", FlavorStore::row);
    }

    public Optional<Flavor> byId(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM flavor WHERE id = ?", FlavorStore::row, id);
    }

    /** A flavor by id or, failing that, by its unique name. */
    public Optional<Flavor> find(String idOrName) {
        return byId(idOrName).or(() -> sql.one("SELECT " + COLUMNS + " FROM flavor WHERE name = ?",
                FlavorStore::row, idOrName));
    }

    /** The projects a private flavor is shared with (Nova's flavor access). */
    public List<String> projectsWithAccess(String flavorId) {
        return sql.list("SELECT project_id FROM flavor_access WHERE flavor_id = ? ORDER BY project_id",
                r -> r.getString(1), flavorId);
    }

    public void grantAccess(String flavorId, String projectId) {
        try {
            sql.update("INSERT INTO flavor_access (flavor_id, project_id) VALUES (?, ?)", flavorId, projectId);
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                throw new Conflict("Flavor access already exists for flavor " + flavorId + " and project "
                        + projectId + " combination.");
            }
            throw e;
        }
    }

    public void revokeAccess(String flavorId, String projectId) {
        if (sql.update("DELETE FROM flavor_access WHERE flavor_id = ? AND project_id = ?", flavorId, projectId) == 0) {
            throw new NotFound("Flavor access not found for " + flavorId + " / " + projectId + " combination.");
        }
    }

    /** Whether {@code projectId} may use {@code f}: public, or shared with it. */
    public boolean usableBy(Flavor f, String projectId) {
        return f.isPublic() || sql.count("SELECT COUNT(*) FROM flavor_access WHERE flavor_id = ? AND project_id = ?",
                f.id(), projectId) > 0;
    }

    public boolean delete(String id) {
        return sql.update("DELETE FROM flavor WHERE id = ?", id) > 0;
    }

    private static Flavor row(java.sql.ResultSet r) throws java.sql.SQLException {
        return new Flavor(r.getString(1), r.getString(2), r.getInt(3), r.getLong(4), r.getLong(5), r.getBoolean(6));
    }
}
