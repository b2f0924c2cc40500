package io.stratus.scheduler.exception;

/** No host can take what a move asks for (Nova's NoValidHost, which its move APIs answer with 400). */
public final class NoValidHost extends ComputeException {
    public NoValidHost(String message) {
        super(message);
    }

    public NoValidHost(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Kind kind() {
        return Kind.INVALID;
    }
}
