package io.stratus.agent.instance;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;

/**
 * What the agent knows about one instance, as kept in its database. The spec travels as the
 * contract's own {@link Boot} message.
 *
 * @param power whether the guest runs once the recorded step is done: what the instance's settled
 *     state says ({@link #with} sets it), carried unchanged through the states in passing (a
 *     resize, a reboot, VERIFY_RESIZE), which hold for running and stopped guests alike
 * @param previousResources the size before a resize, until it is confirmed or reverted
 * @param sequence the sequence number of the last event published for the instance
 * @param snapshotted a graceful agent stop left a snapshot to restore
 * @param pendingRequest the request being applied, until its result is recorded
 */
public record InstanceRecord(String id, String tenantId, String name, InstanceState state, TaskState task,
                             PowerState power, Resources resources, Optional<Resources> previousResources, Boot boot,
                             Optional<Fault> fault, Optional<Instant> launchedAt, long sequence, boolean snapshotted,
                             Optional<String> pendingRequest) {
    public InstanceRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(power, "power");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(previousResources, "previousResources");
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(fault, "fault");
        Objects.requireNonNull(launchedAt, "launchedAt");
        Objects.requireNonNull(pendingRequest, "pendingRequest");
    }

    /** A new instance being built for {@code requestId}. */
    public static InstanceRecord building(String id, String tenantId, Boot boot, String requestId) {
        return new InstanceRecord(id, tenantId, boot.getName(), InstanceState.BUILD, TaskState.SPAWNING,
                PowerState.POWER_STATE_UNSPECIFIED, boot.getResources(), Optional.empty(), boot, Optional.empty(),
                Optional.empty(), 0, false, Optional.of(requestId));
    }

    /**
     * In {@code newState}, at step {@code newTask}. A settled state says whether the guest runs
     * (ACTIVE, PAUSED, SHUTOFF); the others keep the power the instance had.
     */
    public InstanceRecord with(InstanceState newState, TaskState newTask) {
        PowerState newPower = switch (newState) {
            case ACTIVE -> PowerState.POWER_RUNNING;
            case PAUSED -> PowerState.POWER_PAUSED;
            case SHUTOFF, DELETED -> PowerState.POWER_SHUTDOWN;
            default -> power;
        };
        return new InstanceRecord(id, tenantId, name, newState, newTask, newPower, resources, previousResources, boot,
                fault, launchedAt, sequence, snapshotted, pendingRequest);
    }

    /** With the guest's power as it is after a step whose state does not say it. */
    public InstanceRecord withPower(PowerState value) {
        return new InstanceRecord(id, tenantId, name, state, task, value, resources, previousResources, boot, fault,
                launchedAt, sequence, snapshotted, pendingRequest);
    }

    /**
     * Whether the guest was meant to run when the agent last recorded the instance: what an agent
     * that ended without saving it brings back. Records from before the power was kept go by state.
     */
    public boolean meantToRun() {
        return switch (power) {
            case POWER_RUNNING, POWER_PAUSED -> true;
            case POWER_SHUTDOWN, POWER_CRASHED -> false;
            default -> EnumSet.of(InstanceState.ACTIVE, InstanceState.PAUSED, InstanceState.REBOOT,
                    InstanceState.BUILD, InstanceState.RESIZE, InstanceState.VERIFY_RESIZE).contains(state);
        };
    }

    /** With a new spec (a rebuild: another image, perhaps another name); the name follows the spec's. */
    public InstanceRecord withBoot(Boot value) {
        return new InstanceRecord(id, tenantId, value.getName(), state, task, power, resources, previousResources,
                value, fault, launchedAt, sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withFault(Optional<Fault> value) {
        return new InstanceRecord(id, tenantId, name, state, task, power, resources, previousResources, boot, value,
                launchedAt, sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withResources(Resources value, Optional<Resources> previous) {
        return new InstanceRecord(id, tenantId, name, state, task, power, value, previous, boot, fault, launchedAt,
                sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withLaunchedAt(Instant value) {
        return new InstanceRecord(id, tenantId, name, state, task, power, resources, previousResources, boot, fault,
                Optional.of(value), sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withSequence(long value) {
        return new InstanceRecord(id, tenantId, name, state, task, power, resources, previousResources, boot, fault,
                launchedAt, value, snapshotted, pendingRequest);
    }

    public InstanceRecord withSnapshotted(boolean value) {
        return new InstanceRecord(id, tenantId, name, state, task, power, resources, previousResources, boot, fault,
                launchedAt, sequence, value, pendingRequest);
    }

    public InstanceRecord withPendingRequest(Optional<String> value) {
        return new InstanceRecord(id, tenantId, name, state, task, power, resources, previousResources, boot, fault,
                launchedAt, sequence, snapshotted, value);
    }

    /** Whether the instance holds host resources (everything but deleted and failed builds). */
    public boolean holdsResources() {
        return state != InstanceState.DELETED && !(state == InstanceState.ERROR && launchedAt.isEmpty());
    }
}
