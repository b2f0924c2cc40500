package io.stratus.it;

import io.stratus.local.LocalPostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;

/** The same contract on PostgreSQL, the production database: a private cluster from Debian's package. */
class ComputeApiPostgresIT extends ComputeApiContract {
    private LocalPostgres postgres;

    @Override
    String databaseUrl(Path dir) throws Exception {
        postgres = LocalPostgres.start();
        return postgres.createDatabase("stratus_it");
    }

    @Override
    String name() {
        return "postgresql";
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
