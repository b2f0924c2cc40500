package io.stratus.scheduler.exception;

/** A service the request needs did not take the work (the message bus, the image service, a host that has not published its address); nothing was started, and the client may try again. */
public final class ServiceUnavailable extends ComputeException {
    public ServiceUnavailable(String message) {
        super(message);
    }

    public ServiceUnavailable(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Kind kind() {
        return Kind.UNAVAILABLE;
    }
}
