package io.stratus.scheduler.network;

import io.stratus.database.Database;
import io.stratus.local.LocalPostgres;
import org.junit.jupiter.api.AfterEach;

/** The network model on PostgreSQL, the database several scheduler replicas share in production. */
class NetworkPostgresTest extends NetworkContract {
    private LocalPostgres postgres;

    @Override
    String databaseUrl() throws Exception {
        postgres = LocalPostgres.start();
        return postgres.createDatabase("stratus_network");
    }

    @Override
    Database open(String url) {
        return Database.open(url, LocalPostgres.USER, "", 8);
    }

    @AfterEach
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
