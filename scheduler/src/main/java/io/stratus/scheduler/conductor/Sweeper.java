package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import java.time.Clock;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Gives up the tasks that no event has moved for the task timeout (the periodic part of Nova's
 * conductor and compute manager): a placement a replica left half done is placed again, a boot
 * whose host went silent is placed elsewhere, a delete whose host went silent is done here, and a
 * move is aborted at its source and rolled back.
 */
public final class Sweeper {
    private static final Logger LOG = Logger.getLogger(Sweeper.class);

    private final ServerStore servers;
    private final Conductor conductor;
    private final Clock clock;
    private final Duration taskTimeout;
    private final Duration volumeWait;

    public Sweeper(ServerStore servers, Conductor conductor, Clock clock, Duration taskTimeout, Duration volumeWait) {
        this.servers = servers;
        this.conductor = conductor;
        this.clock = clock;
        this.taskTimeout = taskTimeout;
        this.volumeWait = volumeWait;
    }

    /**
     * One pass over the servers whose task has waited longer than the task timeout, and over those
     * waiting in BUILD for their volumes longer than the volume wait (which ends in ERROR).
     */
    public void sweep() {
        for (Server s : servers.stuckSince(clock.instant().minus(volumeWait))) {
            if (s.taskState() == TaskState.SCHEDULING && s.vmState() == InstanceState.BUILD) {
                conductor.volumesOverdue(s);
            }
        }
        for (Server s : servers.stuckSince(clock.instant().minus(taskTimeout))) {
            String silent = "host " + s.host().orElse("(none)") + " sent nothing for " + taskTimeout.toSeconds()
                    + " s";
            if (s.taskState() == TaskState.SCHEDULING) {
                // The replica that was placing it stopped: place it again under the same request.
                conductor.schedule(s.id());
            } else if (s.vmState() == InstanceState.BUILD) {
                conductor.reschedule(s, new Server.Fault("BootTimedOut", "the boot did not finish: " + silent));
            } else if (s.taskState() == TaskState.DELETING) {
                conductor.release(s);
                if (servers.markDeleted(s.id())) {
                    conductor.serverDeleted(s.id());
                    LOG.warnf("instance %s deleted without its host's confirmation: %s", s.id(), silent);
                }
            } else {
                conductor.giveUp(s, new Server.Fault("TaskTimedOut", "task " + s.taskState().name().toLowerCase()
                        + " gave up: " + silent));
            }
        }
    }
}
