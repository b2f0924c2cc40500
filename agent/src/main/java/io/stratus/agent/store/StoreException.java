package io.stratus.agent.store;

/** The agent's local database failed or holds something it cannot read. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
