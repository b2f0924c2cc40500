package io.stratus.agent.lifecycle;

import io.stratus.agent.bus.CommandLoop;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** Live ({@code /q/health/live}) while the command loop can run: a loop that keeps failing asks for a restart. */
@Singleton
@Liveness
public class CommandLoopLiveness implements HealthCheck {
    @Inject
    @Readiness
    AgentLifecycle lifecycle;

    @Override
    public HealthCheckResponse call() {
        CommandLoop loop = lifecycle.loop();
        boolean alive = loop == null || loop.alive();
        return HealthCheckResponse.named("command-loop-alive").status(alive)
                .withData("restarts", loop == null ? 0 : loop.restarts())
                .withData("last-failure", loop == null ? "" : loop.lastFailure()).build();
    }
}
