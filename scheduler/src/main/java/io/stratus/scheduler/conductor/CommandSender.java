package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.CommandEnvelope;

/**
 * Hands a command to a host's agent: {@link CommandPublisher} over the message bus; a recording
 * one in unit tests.
 */
public interface CommandSender {
    /** @throws DispatchException the command was not taken */
    void send(String host, CommandEnvelope command);
}
