package io.stratus.scheduler.placement;

import io.stratus.local.LocalPostgres;
import io.stratus.database.Database;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The over-commit race on PostgreSQL, the database several scheduler replicas share in production. */
class PlacementPostgresTest {
    @Test
    void concurrentReplicasNeverOverCommitAHostOnPostgres() throws Exception {
        List<Database> pools = new ArrayList<>();
        try (LocalPostgres pg = LocalPostgres.start()) {
            String url = pg.createDatabase("stratus_placement");
            for (int i = 0; i < 4; i++) {
                pools.add(Database.open(url, LocalPostgres.USER, "", 16));
            }
            ClaimRace.run(new PlacementStore(pools.get(0).dataSource()), pools.subList(1, 4).stream()
                    .map(d -> new PlacementStore(d.dataSource())).toList());
        } finally {
            pools.forEach(Database::close);
        }
    }
}
