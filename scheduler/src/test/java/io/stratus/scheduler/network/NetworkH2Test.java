package io.stratus.scheduler.network;

import io.stratus.database.Database;
import java.util.UUID;

/** The network model on the embedded database. */
class NetworkH2Test extends NetworkContract {
    @Override
    String databaseUrl() {
        return "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
    }

    @Override
    Database open(String url) {
        return Database.open(url, "sa", "", 8);
    }
}
