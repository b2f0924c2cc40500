package io.stratus.scheduler.exception;

import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;

/**
 * An action asked of a server in a state that does not allow it (Nova's
 * {@code InstanceInvalidState}, raised by {@code check_instance_state}): the message names the
 * state the server is in now.
 */
public final class InstanceInvalidState extends ComputeException {
    public InstanceInvalidState(String message) {
        super(message);
    }

    /** {@code action} refused on {@code s}, as it is now. */
    public static InstanceInvalidState of(Server s, String action) {
        return of(s, action, "");
    }

    /** {@code action} refused on {@code s}, with {@code why} after the state (";" and what it needs). */
    public static InstanceInvalidState of(Server s, String action, String why) {
        return new InstanceInvalidState("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                + s.vmState().name().toLowerCase() + (s.taskState() == TaskState.NONE ? ""
                : " and task_state " + s.taskState().name().toLowerCase()) + why);
    }

    @Override
    public Kind kind() {
        return Kind.CONFLICT;
    }
}
