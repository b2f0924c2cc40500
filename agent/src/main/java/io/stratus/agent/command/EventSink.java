package io.stratus.agent.command;

import io.stratus.proto.v1.InstanceEvent;

/** Where instance events go; {@link #publish} returns once the event is durably accepted. */
@FunctionalInterface
public interface EventSink {
    void publish(InstanceEvent event);
}
