package io.stratus.agent.command;

import io.stratus.proto.v1.CommandEnvelope;

/** What applies a host's commands: one instance's one at a time, different instances' side by side. */
@FunctionalInterface
public interface CommandApplier {
    /**
     * Applies a valid envelope; returns once its events are published.
     *
     * @throws io.stratus.agent.store.StoreException the host's records could not be written: try again
     * @throws PublishException the bus did not take the events: try again
     */
    void handle(CommandEnvelope env);
}
