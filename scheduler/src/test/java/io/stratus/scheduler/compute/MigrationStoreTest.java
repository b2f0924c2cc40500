package io.stratus.scheduler.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.database.Database;
import io.stratus.local.LocalPostgres;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The migration records on both databases the scheduler runs on (H2 embedded, PostgreSQL). */
class MigrationStoreTest {
    private static final MigrationStore.Filter ALL = new MigrationStore.Filter(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty());

    @Test
    void onH2() {
        try (Database db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4)) {
            aMoveGoesForwardOnlyAndIsFoundByItsFilters(new MigrationStore(db.dataSource(), Clock.systemUTC()));
        }
    }

    @Test
    void onPostgres() throws Exception {
        try (LocalPostgres pg = LocalPostgres.start();
             Database db = Database.open(pg.createDatabase("stratus_migrations"), LocalPostgres.USER, "", 4)) {
            aMoveGoesForwardOnlyAndIsFoundByItsFilters(new MigrationStore(db.dataSource(), Clock.systemUTC()));
        }
    }

    private static void aMoveGoesForwardOnlyAndIsFoundByItsFilters(MigrationStore store) {
        Server s = server("s-1");
        store.start("req-live", s, Migration.Type.LIVE_MIGRATION, "h1", "h2", "m1", Migration.Status.RUNNING);
        store.start("req-cold", s, Migration.Type.RESIZE, "h2", "h3", "m2", Migration.Status.MIGRATING);
        store.start("req-other", server("s-2"), Migration.Type.MIGRATION, "h4", "h5", "m1",
                Migration.Status.MIGRATING);

        assertThat(store.fail("req-live", new Server.Fault("MigrationFailed", "did not converge"))).isTrue();
        // A late success for a move that already failed changes nothing.
        assertThat(store.advance("req-live", Migration.Status.RUNNING, Migration.Status.COMPLETED)).isFalse();
        assertThat(store.advance("req-cold", Migration.Status.MIGRATING, Migration.Status.FINISHED)).isTrue();
        assertThat(store.fail("req-cold", new Server.Fault("TaskTimedOut", "late"))).as("finished moves stay")
                .isFalse();
        store.settle("s-1", Migration.Status.REVERTED);

        List<Migration> all = store.list(ALL);
        assertThat(all).extracting(Migration::uuid).containsExactly("req-other", "req-cold", "req-live");
        Migration live = all.get(2);
        assertThat(live.status()).isEqualTo(Migration.Status.ERROR);
        assertThat(live.fault()).contains(new Server.Fault("MigrationFailed", "did not converge"));
        assertThat(live.type()).isEqualTo(Migration.Type.LIVE_MIGRATION);
        assertThat(live.oldFlavorId()).isEqualTo("m1");
        assertThat(live.id()).isLessThan(all.get(1).id());
        assertThat(all.get(1).status()).isEqualTo(Migration.Status.REVERTED);
        assertThat(all.get(1).newFlavorId()).isEqualTo("m2");

        assertThat(store.list(new MigrationStore.Filter(Optional.of("s-1"), Optional.empty(), Optional.empty(),
                Optional.empty()))).extracting(Migration::uuid).containsExactly("req-cold", "req-live");
        assertThat(store.list(new MigrationStore.Filter(Optional.empty(), Optional.of(Migration.Status.ERROR),
                Optional.empty(), Optional.empty()))).extracting(Migration::uuid).containsExactly("req-live");
        assertThat(store.list(new MigrationStore.Filter(Optional.empty(), Optional.empty(),
                Optional.of(Migration.Type.MIGRATION), Optional.empty()))).extracting(Migration::uuid)
                .containsExactly("req-other");
        assertThat(store.list(new MigrationStore.Filter(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.of("h2")))).as("source or destination").extracting(Migration::uuid)
                .containsExactly("req-cold", "req-live");
    }

    private static Server server(String id) {
        Instant now = Instant.now();
        return new Server(id, "vm", "p1", "u1", "m1", Optional.empty(), 1, 64, 1, "img", "", Optional.empty(),
                InstanceState.ACTIVE, TaskState.NONE, Optional.of("h1"), "req-0", now, List.of(), 1, 0,
                Optional.empty(), Optional.empty(), now, now, Optional.empty(), PowerState.POWER_RUNNING,
                Optional.empty(), Optional.empty(), "", "", Server.Launch.plain("vm", "r-1"));
    }
}
