package io.stratus.agent.instance;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What the agent knows about one instance, as kept in its database. The spec travels as the
 * contract's own {@link Boot} message.
 *
 * @param previousResources the size before a resize, until it is confirmed or reverted
 * @param sequence the sequence number of the last event published for the instance
 * @param snapshotted a graceful agent stop left a snapshot to restore
 * @param pendingRequest the request being applied, until its result is recorded
 */
public record InstanceRecord(String id, String tenantId, String name, InstanceState state, TaskState task,
                             Resources resources, Optional<Resources> previousResources, Boot boot,
                             Optional<Fault> fault, Optional<Instant> launchedAt, long sequence, boolean snapshotted,
                             Optional<String> pendingRequest) {
    public InstanceRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(task, "task");
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
                boot.getResources(), Optional.empty(), boot, Optional.empty(), Optional.empty(), 0, false,
                Optional.of(requestId));
    }

    public InstanceRecord with(InstanceState newState, TaskState newTask) {
        return new InstanceRecord(id, tenantId, name, newState, newTask, resources, previousResources, boot, fault,
                launchedAt, sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withFault(Optional<Fault> value) {
        return new InstanceRecord(id, tenantId, name, state, task, resources, previousResources, boot, value,
                launchedAt, sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withResources(Resources value, Optional<Resources> previous) {
        return new InstanceRecord(id, tenantId, name, state, task, value, previous, boot, fault, launchedAt, sequence,
                snapshotted, pendingRequest);
    }

    public InstanceRecord withLaunchedAt(Instant value) {
        return new InstanceRecord(id, tenantId, name, state, task, resources, previousResources, boot, fault,
                Optional.of(value), sequence, snapshotted, pendingRequest);
    }

    public InstanceRecord withSequence(long value) {
        return new InstanceRecord(id, tenantId, name, state, task, resources, previousResources, boot, fault,
                launchedAt, value, snapshotted, pendingRequest);
    }

    public InstanceRecord withSnapshotted(boolean value) {
        return new InstanceRecord(id, tenantId, name, state, task, resources, previousResources, boot, fault,
                launchedAt, sequence, value, pendingRequest);
    }

    public InstanceRecord withPendingRequest(Optional<String> value) {
        return new InstanceRecord(id, tenantId, name, state, task, resources, previousResources, boot, fault,
                launchedAt, sequence, snapshotted, value);
    }

    /** Whether the instance holds host resources (everything but deleted and failed builds). */
    public boolean holdsResources() {
        return state != InstanceState.DELETED && !(state == InstanceState.ERROR && launchedAt.isEmpty());
    }
}
