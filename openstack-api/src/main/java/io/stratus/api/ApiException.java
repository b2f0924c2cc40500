package io.stratus.api;

/**
 * A request the API refuses, with the HTTP status and a message for the person who sent it. It is
 * rendered in OpenStack's error shape by {@link ApiExceptionMapper}.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String type;

    public ApiException(int status, String message) {
        this(status, message, null);
    }

    /** @param type the fault's name where the API names them (Neutron's {@code NetworkNotFound}), or null */
    public ApiException(int status, String message, String type) {
        super(message);
        this.status = status;
        this.type = type;
    }

    public int status() {
        return status;
    }

    /** The fault's name, or null where the API has none (then its status names it). */
    public String type() {
        return type;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(403, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(409, message);
    }
}
