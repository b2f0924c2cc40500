package io.stratus.scheduler.network;

/**
 * A network request the model refuses, with Neutron's name for the fault ({@code NetworkNotFound},
 * {@code IpAddressAlreadyAllocated}...) and what kind of fault it is; the API edge turns the kind
 * into a status code.
 */
public final class NetworkException extends RuntimeException {
    /** What kind of refusal: the API answers 404, 409, 400, 403 and 409 for them. */
    public enum Kind { NOT_FOUND, CONFLICT, INVALID, FORBIDDEN, OVER_QUOTA }

    private final Kind kind;
    private final String type;

    public NetworkException(Kind kind, String type, String message) {
        super(message);
        this.kind = kind;
        this.type = type;
    }

    public Kind kind() {
        return kind;
    }

    /** Neutron's exception name. */
    public String type() {
        return type;
    }

    public static NetworkException notFound(String what, String id) {
        return new NetworkException(Kind.NOT_FOUND, what + "NotFound", what.replaceAll("([a-z])([A-Z])", "$1 $2")
                + " " + id + " could not be found.");
    }

    public static NetworkException invalid(String message) {
        return new NetworkException(Kind.INVALID, "InvalidInput", "Invalid input for operation: " + message);
    }

    public static NetworkException badRequest(String message) {
        return new NetworkException(Kind.INVALID, "BadRequest", message);
    }

    public static NetworkException conflict(String type, String message) {
        return new NetworkException(Kind.CONFLICT, type, message);
    }
}
