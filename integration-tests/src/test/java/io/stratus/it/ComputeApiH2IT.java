package io.stratus.it;

import java.nio.file.Path;
import org.junit.jupiter.api.parallel.ResourceLock;

/** The control-plane contract on the embedded default database, an H2 file. */
@ResourceLock(LocalCloud.ROOT_NAMESPACE_AGENTS)
class ComputeApiH2IT extends ComputeApiContract {
    @Override
    String databaseUrl(Path dir) {
        return "jdbc:h2:file:" + dir.resolve("scheduler/scheduler") + ";WRITE_DELAY=0";
    }

    @Override
    String name() {
        return "h2";
    }
}
