package io.stratus.agent.command;

import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.TaskState;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * Where an instance's changes are written down and told: each change is its record saved, then
 * its event published (key: instance id, the next {@code sequence}); a request's final event is
 * saved with the request in one transaction, so that a redelivered request is answered again.
 */
final class InstanceJournal {
    private static final Logger LOG = Logger.getLogger(InstanceJournal.class);

    private final String host;
    private final AgentStore store;
    private final EventSink events;
    private final Clock clock;
    private volatile Consumer<InstanceRecord> changes = r -> { };

    InstanceJournal(String host, AgentStore store, EventSink events, Clock clock) {
        this.host = host;
        this.store = store;
        this.events = events;
        this.clock = clock;
    }

    void onRecordChange(Consumer<InstanceRecord> listener) {
        this.changes = listener;
    }

    Instant now() {
        return clock.instant();
    }

    /** Records an intermediate state and publishes it; the request stays pending. */
    InstanceRecord emit(InstanceRecord rec, String req) {
        InstanceRecord next = rec.withSequence(rec.sequence() + 1).withPendingRequest(Optional.of(req));
        store.save(next);
        changes.accept(next);
        events.publish(event(next, req, next.fault()));
        return next;
    }

    /** Records the final state with the request's answer, then publishes it. */
    void finish(InstanceRecord rec, String req) {
        finish(rec, req, e -> e);
    }

    /**
     * Records {@code rec} (its next sequence, no request pending) as the request's answer, with an
     * event that {@code shape} may change (a move's answer names the target host and the move).
     */
    void finish(InstanceRecord rec, String req, UnaryOperator<InstanceEvent.Builder> shape) {
        InstanceRecord next = rec.withSequence(rec.sequence() + 1).withPendingRequest(Optional.empty());
        finishAs(next, next, req, shape);
    }

    /**
     * Records {@code kept} as the request's answer while its event tells {@code told} (a move:
     * the instance is kept here stopped or deleted, the event says where it runs now).
     */
    void finishAs(InstanceRecord kept, InstanceRecord told, String req, UnaryOperator<InstanceEvent.Builder> shape) {
        InstanceEvent e = shape.apply(event(told, req, told.fault()).toBuilder()).build();
        store.saveApplied(kept, req, List.of(e));
        changes.accept(kept);
        events.publish(e);
    }

    /** Records a change no request asked for and publishes it, shaped by {@code shape}. */
    InstanceRecord record(InstanceRecord rec, UnaryOperator<InstanceEvent.Builder> shape) {
        store.save(rec);
        changes.accept(rec);
        events.publish(shape.apply(event(rec, "", rec.fault()).toBuilder()).build());
        return rec;
    }

    /**
     * Publishes a change no request asked for (guest exits, recovery after an agent restart) and
     * keeps it; waits for the bus to take it.
     */
    InstanceRecord publishChange(InstanceRecord changed) {
        InstanceRecord next = changed.withSequence(changed.sequence() + 1);
        store.save(next);
        changes.accept(next);
        events.publish(event(next, "", next.fault()));
        try {
            events.awaitDelivery();
        } catch (PublishException e) {
            // The record holds the change; the bus hears the instance's state again with its next event.
            LOG.warnf("instance %s: event for %s/%s not delivered: %s", next.id(), next.state(), next.task(),
                    e.getMessage());
        }
        return next;
    }

    /** Answers a command that changes nothing; the instance keeps its state, the event carries the fault. */
    void reject(CommandEnvelope env, Optional<InstanceRecord> rec, Fault fault) {
        reject(env, rec, fault, rec.map(InstanceRecord::state).orElse(InstanceState.INSTANCE_STATE_UNSPECIFIED));
    }

    void reject(CommandEnvelope env, Optional<InstanceRecord> rec, Fault fault, InstanceState state) {
        LOG.warnf("instance %s: %s (request %s) refused: %s", env.getInstanceId(), CommandHandler.commandName(env),
                env.getRequestId(), fault.getMessage());
        InstanceEvent.Builder e = InstanceEvent.newBuilder().setEventId(UUID.randomUUID().toString())
                .setInstanceId(env.getInstanceId()).setTenantId(env.getTenantId()).setHost(host).setState(state)
                .setTaskState(TaskState.NONE).setRequestId(env.getRequestId()).setFault(fault)
                .setOccurredAt(ProtoTime.timestamp(clock.instant()));
        rec.ifPresent(r -> {
            e.setTenantId(r.tenantId()).setResources(r.resources()).setSequence(r.sequence()).setTaskState(r.task())
                    .setPowerState(r.power());
            r.launchedAt().ifPresent(t -> e.setLaunchedAt(ProtoTime.timestamp(t)));
        });
        if (rec.isEmpty() && env.hasBoot()) {
            e.setResources(env.getBoot().getResources());
        }
        if (env.hasCreateImage()) {
            // The scheduler deletes the image it created for a refused CreateImage by this id.
            e.setImageId(env.getCreateImage().getImageId());
        }
        if (env.hasAttachVolume()) {
            e.setVolumeId(env.getAttachVolume().getVolume().getVolumeId());
        }
        if (env.hasDetachVolume()) {
            e.setVolumeId(env.getDetachVolume().getVolumeId());
        }
        InstanceEvent event = e.build();
        store.markApplied(env.getRequestId(), env.getInstanceId(), List.of(event));
        events.publish(event);
    }

    /** Answers the request again with the events recorded for it; false when it was never applied. */
    boolean answerAgain(String req) {
        Optional<List<InstanceEvent>> earlier = store.appliedEvents(req);
        earlier.ifPresent(list -> list.forEach(events::publish));
        return earlier.isPresent();
    }

    InstanceEvent event(InstanceRecord rec, String req, Optional<Fault> fault) {
        InstanceEvent.Builder e = InstanceEvent.newBuilder().setEventId(UUID.randomUUID().toString())
                .setInstanceId(rec.id()).setTenantId(rec.tenantId()).setHost(host).setState(rec.state())
                .setTaskState(rec.task()).setRequestId(req).setOccurredAt(ProtoTime.timestamp(clock.instant()))
                .setResources(rec.resources()).setSequence(rec.sequence()).setPowerState(rec.power());
        rec.launchedAt().ifPresent(t -> e.setLaunchedAt(ProtoTime.timestamp(t)));
        fault.ifPresent(e::setFault);
        return e.build();
    }
}
