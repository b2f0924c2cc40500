package io.stratus.scheduler.exception;

/** A request over a limit: a size or a count the service does not take. */
public final class OverLimit extends ComputeException {
    public OverLimit(String message) {
        super(message);
    }

    @Override
    public Kind kind() {
        return Kind.OVER_LIMIT;
    }
}
