package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.InstanceInvalidState;
import java.util.function.Predicate;
import org.jboss.logging.Logger;

/**
 * Nova's evacuate: a server of a host that is down is booted again on another host that the
 * scheduler chooses, from its image (what its root disk held is lost, as in Nova without shared
 * storage), with the same ports, so the same MAC and addresses. It is a new boot in all but
 * name ({@link BootTask}, the failed host counted as tried). Fencing: a Delete for the server
 * waits on the failed host's topic, and an agent that comes back applies its waiting Deletes
 * before it brings any guest back, so the server never runs in two places.
 */
final class Evacuation {
    private static final Logger LOG = Logger.getLogger(Evacuation.class);
    /** Nova's: an evacuation starts from these vm_states. */
    static final InstanceState[] FROM = {InstanceState.ACTIVE, InstanceState.SHUTOFF, InstanceState.ERROR};

    private final ServerStore servers;
    private final Scheduling scheduling;
    private final HostCommands commands;
    private final BootTask boot;
    private final ServerVolumes volumes;

    Evacuation(ServerStore servers, Scheduling scheduling, HostCommands commands, BootTask boot,
               ServerVolumes volumes) {
        this.volumes = volumes;
        this.servers = servers;
        this.scheduling = scheduling;
        this.commands = commands;
        this.boot = boot;
    }

    /**
     * Evacuates {@code s}, whose host {@code hostUp} says is down.
     *
     * @throws Conflict its host is up (Nova: "Compute service of ... is still in use.")
     * @throws InstanceInvalidState it has no host, a task under way, or a state evacuate does not take
     */
    void evacuate(Server s, Predicate<String> hostUp) {
        String failed = s.host().orElseThrow(() -> InstanceInvalidState.of(s, "evacuate", "; it has no host"));
        if (hostUp.test(failed)) {
            throw new Conflict("Compute service of " + failed + " is still in use.");
        }
        if (!start(s, failed)) {
            throw InstanceInvalidState.of(servers.find(s.id()).orElse(s), "evacuate");
        }
    }

    /** Starts the evacuation of {@code s} from {@code failed}; false when the server was not at rest there. */
    boolean start(Server s, String failed) {
        String request = Conductor.newRequestId();
        if (!servers.startEvacuation(s.id(), request, failed, FROM)) {
            return false;
        }
        LOG.infof("instance %s: evacuating from host %s, which is down (request %s)", s.id(), failed, request);
        // The dead host's claim goes: its capacity is not there while it is down.
        scheduling.release(s.id());
        commands.cleanUp(s, failed);
        // Fencing at the storage: a host that only looks dead (cut off from the bus, its guest running
        // on) must not write the volumes the new boot writes. Its exports stop; the boot gets new ones.
        volumes.fence(s.id());
        boot.schedule(s.id());
        return true;
    }
}
