package io.stratus.agent.network;

/** The host's data plane could not be made what it should be: a command failed, or input was unusable. */
public class NetworkException extends RuntimeException {
    public NetworkException(String message) {
        super(message);
    }

    public NetworkException(String message, Throwable cause) {
        super(message, cause);
    }
}
