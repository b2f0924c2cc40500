package io.stratus.scheduler.placement;

/** No host can take the request (Nova's "No valid host was found"); the message says why. */
public final class NoValidHostException extends RuntimeException {
    public NoValidHostException(String message) {
        super(message);
    }
}
