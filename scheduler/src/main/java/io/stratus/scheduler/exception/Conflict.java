package io.stratus.scheduler.exception;

/** A request that clashes with what exists now, other than a server's state (a server's image deleted under it). */
public final class Conflict extends ComputeException {
    public Conflict(String message) {
        super(message);
    }

    public Conflict(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Kind kind() {
        return Kind.CONFLICT;
    }
}
