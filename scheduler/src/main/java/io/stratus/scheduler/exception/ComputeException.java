package io.stratus.scheduler.exception;

/**
 * Why the compute service refuses or cannot carry out a request, in its own terms (Nova's
 * {@code nova/exception.py}): the classes below say what went wrong, and the API edge alone turns
 * their {@link Kind} into an HTTP status. The message is for the person who asked.
 */
public abstract sealed class ComputeException extends RuntimeException
        permits InstanceInvalidState, NoValidHost, InvalidRequest, Conflict, NotFound, Forbidden, OverLimit,
        ServiceUnavailable, Unauthenticated {

    /** The kinds of refusal a client tells apart. */
    public enum Kind {
        /** The request itself cannot be done as asked. */
        INVALID,
        /** What the request names does not exist. */
        NOT_FOUND,
        /** The caller is not who it claims, or could not say who it is. */
        UNAUTHENTICATED,
        /** The caller may not do this. */
        FORBIDDEN,
        /** The request is over a size or count limit. */
        OVER_LIMIT,
        /** The request fits no state the thing is in now; it may later. */
        CONFLICT,
        /** A service the request needs did not answer or take the work; the client may retry. */
        UNAVAILABLE
    }

    protected ComputeException(String message) {
        super(message);
    }

    protected ComputeException(String message, Throwable cause) {
        super(message, cause);
    }

    public abstract Kind kind();
}
