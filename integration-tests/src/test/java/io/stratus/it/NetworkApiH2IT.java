package io.stratus.it;

import java.nio.file.Path;

/** The Network API on the embedded database. */
class NetworkApiH2IT extends NetworkApiContract {
    @Override
    String databaseUrl(Path dir) {
        return "jdbc:h2:file:" + dir.resolve("scheduler/scheduler") + ";WRITE_DELAY=0";
    }

    @Override
    String name() {
        return "net-h2";
    }
}
