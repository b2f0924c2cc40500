package io.stratus.scheduler.placement;

/** The placement database failed; nothing was claimed. */
public final class PlacementException extends RuntimeException {
    public PlacementException(String message, Throwable cause) {
        super(message, cause);
    }
}
