package io.stratus.scheduler.exception;

/** A request that cannot be done as asked: a move to the host the server is on, to a host that is not known, or between hypervisors that cannot carry it (Nova's MigrationPreCheckError among them). */
public final class InvalidRequest extends ComputeException {
    public InvalidRequest(String message) {
        super(message);
    }

    public InvalidRequest(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Kind kind() {
        return Kind.INVALID;
    }
}
