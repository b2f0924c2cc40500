package io.stratus.scheduler.conductor;

/** A command could not be handed to the message bus; the server's task did not start. */
public class DispatchException extends RuntimeException {
    public DispatchException(String message, Throwable cause) {
        super(message, cause);
    }
}
