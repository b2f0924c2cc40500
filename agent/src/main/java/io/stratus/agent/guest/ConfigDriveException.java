package io.stratus.agent.guest;

/** A guest's config drive could not be made; the boot fails with fault {@value #CODE}. */
public final class ConfigDriveException extends RuntimeException {
    public static final String CODE = "ConfigDriveFailed";

    public ConfigDriveException(String message) {
        super(message);
    }

    public ConfigDriveException(String message, Throwable cause) {
        super(message, cause);
    }

    public String code() {
        return CODE;
    }
}
