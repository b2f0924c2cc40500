package io.stratus.scheduler.volume;

/**
 * A volume request the service refuses, and what kind of refusal it is; the API edge turns the
 * kind into Cinder's status code (a volume in the wrong status is Cinder's 400 {@code InvalidVolume},
 * not a 409).
 */
public final class VolumeException extends RuntimeException {
    /** NOT_FOUND 404, INVALID 400, OVER_QUOTA 413, FORBIDDEN 403, CONFLICT 409, FAILED 500. */
    public enum Kind { NOT_FOUND, INVALID, OVER_QUOTA, FORBIDDEN, CONFLICT, FAILED }

    private final Kind kind;

    public VolumeException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public VolumeException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static VolumeException notFound(String what, String id) {
        return new VolumeException(Kind.NOT_FOUND, what + " " + id + " could not be found.");
    }

    public static VolumeException invalid(String message) {
        return new VolumeException(Kind.INVALID, message);
    }

    /** Cinder's InvalidVolume: the volume's status does not allow the operation. */
    public static VolumeException invalidVolume(String message) {
        return new VolumeException(Kind.INVALID, "Invalid volume: " + message);
    }

    public static VolumeException failed(String message, Throwable cause) {
        return new VolumeException(Kind.FAILED, message, cause);
    }
}
