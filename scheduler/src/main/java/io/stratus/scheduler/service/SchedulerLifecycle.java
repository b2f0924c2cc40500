package io.stratus.scheduler.service;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.EventConsumer;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.hosts.HostReportConsumer;
import io.stratus.scheduler.identity.IdentityStore;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
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

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;
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

    private HostReportConsumer reports;
    private EventConsumer events;
    private Thread reportThread;
    private Thread eventThread;
    private volatile boolean ready;

    void start(@Observes StartupEvent event) {
        identity.bootstrap(config.admin().user(), config.admin().password(), config.admin().project());
        flavors.seedDefaults();
        reports = new HostReportConsumer(bootstrapServers, config.replica(), hosts);
        events = new EventConsumer(bootstrapServers, config.replica(), conductor);
        reportThread = daemon(reports, "stratus-host-reports");
        eventThread = daemon(events, "stratus-events");
        ready = true;
        LOG.infof("scheduler %s serving %s (Kafka %s)", config.replica(), config.publicUrl(), bootstrapServers);
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
            conductor.sweep();
            identity.purgeExpired();
        } catch (RuntimeException e) {
            LOG.warnf(e, "sweep of stuck tasks failed; the next one retries");
        }
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
