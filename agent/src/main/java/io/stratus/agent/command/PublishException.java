package io.stratus.agent.command;

/** An event could not be handed to the bus; the command that caused it is retried, not lost. */
public final class PublishException extends RuntimeException {
    public PublishException(String message, Throwable cause) {
        super(message, cause);
    }
}
