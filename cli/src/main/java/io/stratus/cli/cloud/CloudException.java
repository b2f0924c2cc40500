package io.stratus.cli.cloud;

/** The cloud refused a request or could not be reached; the message is the API's own. */
public class CloudException extends RuntimeException {
    private final int status;

    public CloudException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The HTTP status, or 0 when the cloud could not be reached. */
    public int status() {
        return status;
    }
}
