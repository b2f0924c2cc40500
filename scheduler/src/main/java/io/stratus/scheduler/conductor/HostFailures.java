package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.hosts.HostDirectory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jboss.logging.Logger;

/**
 * Finds failed hosts and deals with their servers (Masakari's host monitor and engine, in one
 * pass of the sweep). A host has failed only when both say so: it sent no report for
 * {@code failedAfter}, and its agent does not answer {@code Describe} (a host whose reports stop
 * on a broken bus but whose agent answers is not failed, and keeps its servers). Its servers at
 * rest then either come back elsewhere by themselves, for those with the HA policy (server
 * metadata {@value #HA_KEY} = true), at most {@code atOnce} per pass, or go to ERROR with a fault
 * that says the host is down and that an admin can evacuate them.
 */
public final class HostFailures {
    private static final Logger LOG = Logger.getLogger(HostFailures.class);
    /** The HA policy's key in server metadata (a flavor's extra spec once flavors have them). */
    public static final String HA_KEY = "ha:enabled";
    /** The fault of a server whose host failed and which waits for an admin's evacuate. */
    public static final String HOST_DOWN = "HostDown";

    /** Whether a host's agent answers (AgentService.Describe over gRPC). */
    public interface AgentProbe {
        boolean answers(String host, String grpcAddress);
    }

    /** The detector's limits. */
    public record Settings(Duration failedAfter, int atOnce) {
        public Settings {
            if (failedAfter.isNegative() || failedAfter.isZero()) {
                throw new IllegalArgumentException("host-failed-after must be positive, not " + failedAfter);
            }
            if (atOnce < 1) {
                throw new IllegalArgumentException("evacuations-at-once must be at least 1, not " + atOnce);
            }
        }
    }

    private final ServerStore servers;
    private final ServerMetadataStore metadata;
    private final HostDirectory hosts;
    private final Conductor conductor;
    private final AgentProbe probe;
    private final Clock clock;
    private final Settings settings;

    public HostFailures(ServerStore servers, ServerMetadataStore metadata, HostDirectory hosts, Conductor conductor,
                        AgentProbe probe, Clock clock, Settings settings) {
        this.servers = servers;
        this.metadata = metadata;
        this.hosts = hosts;
        this.conductor = conductor;
        this.probe = probe;
        this.clock = clock;
        this.settings = settings;
    }

    /** One pass: the hosts with servers, checked; the servers of failed ones, dealt with. */
    public void check() {
        Set<String> withServers = new TreeSet<>();
        servers.placed().forEach(p -> withServers.add(p.host()));
        int evacuations = 0;
        for (String host : withServers) {
            if (!failed(host)) {
                continue;
            }
            for (Server s : servers.list(ServerStore.Query.host(host))) {
                if (s.taskState() != TaskState.NONE) {
                    // A task under way ends first (its event, or the sweep's timeout); the next pass sees it.
                    continue;
                }
                if (haEnabled(s) && evacuable(s)) {
                    if (evacuations < settings.atOnce() && conductor.startEvacuation(s, host)) {
                        evacuations++;
                    }
                } else if (!(s.vmState() == InstanceState.ERROR
                        && s.fault().map(f -> f.code().equals(HOST_DOWN)).orElse(false))) {
                    if (servers.fail(s.id(), s.requestId(), new Server.Fault(HOST_DOWN, "host " + host + " is down"
                            + " (no report for " + settings.failedAfter().toSeconds() + " s and its agent does not"
                            + " answer); an admin can evacuate the server to another host (openstack server"
                            + " evacuate)"))) {
                        LOG.warnf("instance %s: host %s is down; ERROR until an admin evacuates it", s.id(), host);
                    }
                }
            }
        }
    }

    /** Whether {@code host} missed its reports for the set time and its agent does not answer. */
    boolean failed(String host) {
        Optional<Instant> last = hosts.lastReport(host);
        if (last.isPresent() && !last.get().isBefore(clock.instant().minus(settings.failedAfter()))) {
            return false;
        }
        String address = hosts.report(host).map(HostReport::getGrpcAddress).orElse("");
        if (!address.isEmpty() && probe.answers(host, address)) {
            LOG.warnf("host %s sent no report for %d s but its agent answers: not failed", host,
                    settings.failedAfter().toSeconds());
            return false;
        }
        return true;
    }

    private boolean haEnabled(Server s) {
        return "true".equals(metadata.of(s.id()).getOrDefault(HA_KEY, "").strip().toLowerCase(Locale.ROOT));
    }

    private static boolean evacuable(Server s) {
        return Arrays.asList(Evacuation.FROM).contains(s.vmState());
    }
}
