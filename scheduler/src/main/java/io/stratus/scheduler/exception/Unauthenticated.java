package io.stratus.scheduler.exception;

/**
 * The caller could not be identified: wrong password, a locked or unknown account, a token for a
 * project the user has no role on (Keystone's {@code Unauthorized}). One message for all of them,
 * so that the answer does not tell which names exist.
 */
public final class Unauthenticated extends ComputeException {
    public Unauthenticated(String message) {
        super(message);
    }

    @Override
    public Kind kind() {
        return Kind.UNAUTHENTICATED;
    }
}
