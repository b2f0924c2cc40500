package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.NotFound;

/**
 * Where an action checks the server's state (Nova's {@code check_instance_state}): the task starts
 * only from the states the action allows and only when no other task runs, in one conditional
 * update, so that racing requests cannot both win; else {@link InstanceInvalidState}.
 */
final class StateCheck {
    private StateCheck() {
    }

    /**
     * Starts {@code task} on {@code s} under a new request id if the server is in one of
     * {@code from}; else refuses {@code action}, naming the state the server is in now. Returns
     * the request id.
     *
     * @throws NotFound the server was deleted meanwhile
     */
    static String startTask(ServerStore servers, Server s, String action, TaskState task, InstanceState... from) {
        String request = Conductor.newRequestId();
        if (!servers.startTask(s.id(), request, task, from)) {
            Server now = servers.find(s.id()).orElseThrow(() -> new NotFound("Instance " + s.id()
                    + " could not be found."));
            throw InstanceInvalidState.of(now, action);
        }
        return request;
    }

    /** The host of {@code s}, which {@code action} needs; one without (never placed) refuses it. */
    static String hostOf(Server s, String action) {
        return s.host().orElseThrow(() -> InstanceInvalidState.of(s, action));
    }
}
