package io.stratus.it;

import java.nio.file.Path;

/** Neutron's L3 API on the embedded database. */
class RouterApiH2IT extends RouterApiContract {
    @Override
    String databaseUrl(Path dir) {
        return "jdbc:h2:file:" + dir.resolve("scheduler/scheduler") + ";WRITE_DELAY=0";
    }

    @Override
    String name() {
        return "l3-h2";
    }
}
