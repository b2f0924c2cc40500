package io.stratus.scheduler.exception;

/** What the request names does not exist (any longer). */
public final class NotFound extends ComputeException {
    public NotFound(String message) {
        super(message);
    }

    public NotFound(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Kind kind() {
        return Kind.NOT_FOUND;
    }
}
