package io.stratus.scheduler.service;

import io.stratus.kafka.client.KafkaClientSettings;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.stratus.scheduler.volume.NbdExports;
import io.quarkus.scheduler.Scheduled;
import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.HostFailures;
import io.stratus.scheduler.conductor.Sweeper;
import io.stratus.scheduler.conductor.EventConsumer;
import io.stratus.scheduler.conductor.EventOrigins;
import io.stratus.scheduler.conductor.ServerActions;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.hosts.HostReportConsumer;
import io.stratus.scheduler.identity.IdentityStore;
import io.stratus.scheduler.network.NetworkTopic;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.ProviderUsage;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Starts the scheduler: the first admin and the default flavors on an empty database, the
 * readers of host reports and agent events, and the periodic sweep of stuck tasks.
 */
@Singleton
public class SchedulerLifecycle {
    private static final Logger LOG = Logger.getLogger(SchedulerLifecycle.class);

    @Inject
    KafkaClientSettings bus;
    @Inject
    SchedulerConfig config;
    @Inject
    IdentityStore identity;
    @Inject
    FlavorStore flavors;
    @Inject
    HostDirectory hosts;
    @Inject
    Conductor conductor;
    @Inject
    Sweeper sweeper;
    @Inject
    HostFailures hostFailures;
    @Inject
    ServerActions actions;
    @Inject
    Clock clock;
    @Inject
    NbdExports exports;

    @Inject
    ServerStore servers;
    @Inject
    MigrationStore migrations;
    @Inject
    PlacementStore placement;
    @Inject
    MeterRegistry meters;

    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
    private HostReportConsumer reports;
    private EventConsumer events;
    private Thread reportThread;
    private Thread eventThread;
    private volatile boolean ready;

    void start(@Observes StartupEvent event) {
        identity.bootstrap(config.admin().user(),
                () -> AdminPassword.configuredOrWritten(config.admin().password(), config.dataDir()),
                config.admin().project());
        flavors.seedDefaults();
        NetworkTopic.ensure(bus);
        // Volumes attached before a restart are served again (on their ports) before any event asks.
        exports.recover();
        reports = new HostReportConsumer(bus, config.replica(), hosts);
        events = new EventConsumer(bus, config.replica(), conductor, new EventOrigins(servers, migrations));
        // What an agent sent that its certificate does not entitle it to: a compromised or misconfigured host.
        FunctionCounter.builder("stratus.scheduler.forged.messages", reports, HostReportConsumer::forgedReports)
                .tag("kind", "host_report").register(meters);
        FunctionCounter.builder("stratus.scheduler.forged.messages", events, EventConsumer::forgedEvents)
                .tag("kind", "instance_event").register(meters);
        reportThread = daemon(reports, "stratus-host-reports");
        eventThread = daemon(events, "stratus-events");
        ready = true;
        LOG.infof("scheduler %s serving %s (Kafka %s)", config.replica(), config.publicUrl(), bus.bootstrapServers());
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.errorf(e, "%s stopped", name);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        ready = false;
        if (reports != null) {
            reports.stop();
            events.stop();
            reportThread.join(10_000);
            eventThread.join(10_000);
        }
    }

    @Scheduled(every = "${stratus.scheduler.sweep-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
            delayed = "5s")
    void sweep() {
        try {
            sweeper.sweep();
            hostFailures.check();
            actions.confirmOverdue(config.resizeConfirmWindow(), clock);
            identity.purgeExpired();
            updateGauges();
        } catch (RuntimeException e) {
            LOG.warnf(e, "sweep of stuck tasks failed; the next one retries");
        }
    }

    /**
     * Servers per state and hosts per state, for Prometheus: read from the database once per
     * sweep, not per scrape (every replica shows the same figures).
     */
    private void updateGauges() {
        Map<InstanceState, Long> byState = servers.countByState();
        for (InstanceState st : InstanceState.values()) {
            if (st != InstanceState.INSTANCE_STATE_UNSPECIFIED && st != InstanceState.UNRECOGNIZED
                    && st != InstanceState.DELETED) {
                gauge("stratus.scheduler.servers", "state", st.name().toLowerCase(Locale.ROOT))
                        .set(byState.getOrDefault(st, 0L));
            }
        }
        long up = 0;
        long down = 0;
        long disabled = 0;
        for (ProviderUsage p : placement.all()) {
            if (p.disabled() || hosts.disabledByAgent(p.name()).isPresent()) {
                disabled++;
            } else if (conductor.hostUp(p.name())) {
                up++;
            } else {
                down++;
            }
        }
        gauge("stratus.scheduler.hosts", "state", "up").set(up);
        gauge("stratus.scheduler.hosts", "state", "down").set(down);
        gauge("stratus.scheduler.hosts", "state", "disabled").set(disabled);
    }

    private AtomicLong gauge(String name, String tag, String value) {
        return gauges.computeIfAbsent(name + "|" + value, k -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder(name, v, AtomicLong::get).tag(tag, value).register(meters);
            return v;
        });
    }

    /** Ready once the database is migrated and the readers run. */
    @Readiness
    @Singleton
    public static class Ready implements HealthCheck {
        @Inject
        SchedulerLifecycle lifecycle;

        @Override
        public HealthCheckResponse call() {
            return HealthCheckResponse.named("scheduler").status(lifecycle.ready && lifecycle.eventThread.isAlive()
                    && lifecycle.reportThread.isAlive()).build();
        }
    }
}
