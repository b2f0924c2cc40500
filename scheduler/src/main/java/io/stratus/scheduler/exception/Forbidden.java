package io.stratus.scheduler.exception;

/** A request the caller may not make (another service's policy refused it on the caller's behalf). */
public final class Forbidden extends ComputeException {
    public Forbidden(String message) {
        super(message);
    }

    @Override
    public Kind kind() {
        return Kind.FORBIDDEN;
    }
}
