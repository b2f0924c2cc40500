package io.stratus.agent.command;

import io.stratus.proto.v1.InstanceEvent;

/**
 * Where instance events go. {@link #publish} may return before the event is stored by the bus;
 * {@link #awaitDelivery} returns once everything published so far is, in order.
 */
public interface EventSink {
    void publish(InstanceEvent event);

    /**
     * Waits until every event published so far is durably accepted.
     *
     * @throws PublishException some event was not: the caller must not acknowledge what caused it
     */
    void awaitDelivery();
}
