package io.stratus.it;

import io.stratus.local.LocalPostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;

/** Neutron's L3 API on PostgreSQL. */
class RouterApiPostgresIT extends RouterApiContract {
    private LocalPostgres postgres;

    @Override
    String databaseUrl(Path dir) throws Exception {
        postgres = LocalPostgres.start();
        return postgres.createDatabase("stratus_l3_it");
    }

    @Override
    String name() {
        return "l3-postgresql";
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
