package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.ServiceUnavailable;
import org.jboss.logging.Logger;

/**
 * Runs moves (Nova's {@code TaskBase.execute}): every way a move can fail — its commands not
 * taken, its source's failure event, its hosts' silence, its server's delete — ends in the
 * task's one {@link MoveTask#rollback}, here.
 */
final class TaskRunner {
    private static final Logger LOG = Logger.getLogger(TaskRunner.class);

    private final ServerStore servers;

    TaskRunner(ServerStore servers) {
        this.servers = servers;
    }

    /**
     * Sends a started move's commands ({@code send}). A command the bus does not take rolls the
     * move back and ends the server's task with the fault; the caller is refused with
     * {@code refusal} and why, and may try again.
     */
    void dispatch(MoveTask task, Server s, String requestId, String refusal, Runnable send) {
        try {
            send.run();
        } catch (DispatchException e) {
            Server.Fault fault = new Server.Fault("DispatchFailed", e.getMessage());
            task.rollback(s, requestId, fault);
            servers.abandonTask(s.id(), requestId, fault);
            throw new ServiceUnavailable(refusal + "; try again: " + e.getMessage(), e);
        }
    }

    /**
     * Follows an event of the move of {@code s}: a failure rolls it back. Returns the server as
     * it is now.
     */
    Server follow(MoveTask task, Server s, InstanceEvent e) {
        MoveTask.Progress progress = task.follow(s, e);
        if (progress instanceof MoveTask.Progress.Arrived arrived) {
            return arrived.now();
        }
        if (progress instanceof MoveTask.Progress.Failed failed) {
            task.rollback(s, s.requestId(), failed.why());
            LOG.warnf("instance %s request %s: %s failed, the guest stays on %s: %s", s.id(), s.requestId(),
                    task.describe(), s.host().orElse("its host"), failed.why().message());
            return servers.find(s.id()).orElse(s);
        }
        return s;
    }

    /**
     * Ends a move that will not finish (its hosts went silent, or its server is deleted): the
     * source stops it, so that it cannot finish later where the records do not say, and it is
     * rolled back.
     */
    void abort(MoveTask task, Server s, Server.Fault why) {
        task.stop(s);
        task.rollback(s, s.requestId(), why);
    }

    /** {@link #abort}, and the server's task ends with {@code why}: no event will end it. */
    void giveUp(MoveTask task, Server s, Server.Fault why) {
        abort(task, s, why);
        servers.abandonTask(s.id(), s.requestId(), why);
    }
}
