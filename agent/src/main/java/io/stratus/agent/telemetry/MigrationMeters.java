package io.stratus.agent.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Optional;

/**
 * Moves on /metrics, as operators watch them: how many went out of and came into this host, live
 * or cold, and how they ended; how long live migrations took and paused their guests.
 */
public final class MigrationMeters {
    /** Which end of a move this host was. */
    public enum Direction { OUT, IN }

    /** Live (the guest runs throughout) or cold (its disk moves while it is stopped). */
    public enum Kind { LIVE, COLD }

    private final MeterRegistry registry;
    private final String host;
    private final Timer total;
    private final Timer downtime;

    public MigrationMeters(MeterRegistry registry, String host) {
        this.registry = registry;
        this.host = host;
        this.total = Timer.builder("stratus.agent.migration.duration").description("live migrations sent from this"
                + " host, start to switch-over").tag("host", host).register(registry);
        this.downtime = Timer.builder("stratus.agent.migration.downtime").description("how long live migrations"
                + " sent from this host paused their guests").tag("host", host).register(registry);
    }

    /** A move ended: {@code completed} or not (failed, aborted, did not converge). */
    public void ended(Direction direction, Kind kind, boolean completed) {
        Counter.builder("stratus.agent.migrations").description("moves of instances out of and into this host")
                .tag("host", host).tag("direction", lower(direction)).tag("kind", lower(kind))
                .tag("result", completed ? "completed" : "failed").register(registry).increment();
    }

    /** A live migration this host sent completed after {@code took}, pausing its guest for {@code paused}. */
    public void sent(Duration took, Optional<Duration> paused) {
        total.record(took);
        paused.ifPresent(downtime::record);
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT);
    }
}
