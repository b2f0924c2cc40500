package io.stratus.agent.migration;

import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * This host's two ends of live migrations and the threads they run on (a migration takes
 * seconds to minutes: never the command handler's thread or gRPC's).
 */
public record LiveMigrations(MigrationSources sources, MigrationTargets targets, ExecutorService workers) {
    public LiveMigrations {
        Objects.requireNonNull(sources, "sources");
        Objects.requireNonNull(targets, "targets");
        Objects.requireNonNull(workers, "workers");
    }
}
