package io.stratus.agent.lifecycle;

import io.quarkus.scheduler.Scheduled;
import io.stratus.agent.config.AgentConfig;
import io.stratus.agent.migration.MigrationTargets;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/** Drops migrations prepared on this host that no source ever started (its VM and disk go). */
@Singleton
public class MigrationExpiry {
    @Inject
    MigrationTargets targets;

    @Inject
    AgentConfig config;

    @Scheduled(every = "60s", delayed = "60s")
    void expire() {
        targets.expire(config.migration().preparedFor());
    }
}
