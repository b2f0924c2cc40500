package io.stratus.it;

import io.stratus.local.LocalPostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;

/** The Network API on PostgreSQL. */
class NetworkApiPostgresIT extends NetworkApiContract {
    private LocalPostgres postgres;

    @Override
    String databaseUrl(Path dir) throws Exception {
        postgres = LocalPostgres.start();
        return postgres.createDatabase("stratus_net_it");
    }

    @Override
    String name() {
        return "net-postgresql";
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
