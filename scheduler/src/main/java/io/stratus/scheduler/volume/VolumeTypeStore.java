package io.stratus.scheduler.volume;

import io.stratus.database.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Volume types: the {@code __DEFAULT__} one the migration made, and any an admin adds later. */
public final class VolumeTypeStore {
    private static final String COLUMNS = "id, name, description, is_public, multiattach, created_at";

    private final Sql sql;

    public VolumeTypeStore(DataSource db) {
        this.sql = new Sql(db);
    }

    public List<VolumeType> list() {
        return sql.list("SELECT " + COLUMNS + " FROM volume_type ORDER BY name", VolumeTypeStore::row);
    }

    /** A type by id or by name, as Cinder's create accepts either. */
    public Optional<VolumeType> find(String idOrName) {
        return sql.one("SELECT " + COLUMNS + " FROM volume_type WHERE id = ? OR name = ? ORDER BY name",
                VolumeTypeStore::row, idOrName, idOrName);
    }

    public VolumeType get(String idOrName) {
        return find(idOrName).orElseThrow(() -> VolumeException.notFound("Volume type", idOrName));
    }

    public VolumeType defaultType() {
        return get(VolumeType.DEFAULT_NAME);
    }

    private static VolumeType row(ResultSet r) throws SQLException {
        return new VolumeType(r.getString("id"), r.getString("name"), r.getString("description"),
                r.getBoolean("is_public"), r.getBoolean("multiattach"), r.getTimestamp("created_at").toInstant());
    }
}
