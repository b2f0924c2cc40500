package io.stratus.image.catalog;

/**
 * A request the image catalog refuses, with the reason in Glance's terms; the API edge chooses
 * the HTTP status from {@link #reason()}.
 */
public final class CatalogException extends RuntimeException {
    /** Why a request is refused. */
    public enum Reason {
        /** No such image, or one the caller may not see. */
        NOT_FOUND,
        /** A value or a request that is malformed or out of range. */
        INVALID,
        /** Not for this caller, or not for this attribute (read-only, reserved). */
        FORBIDDEN,
        /** Contradicts the image as it is (a property that is missing, or present already). */
        CONFLICT,
        /** More properties or tags than an image takes. */
        LIMIT_EXCEEDED
    }

    private final Reason reason;

    public CatalogException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    static CatalogException notFound(String message) {
        return new CatalogException(Reason.NOT_FOUND, message);
    }

    static CatalogException invalid(String message) {
        return new CatalogException(Reason.INVALID, message);
    }

    static CatalogException forbidden(String message) {
        return new CatalogException(Reason.FORBIDDEN, message);
    }

    static CatalogException conflict(String message) {
        return new CatalogException(Reason.CONFLICT, message);
    }

    static CatalogException limitExceeded(String message) {
        return new CatalogException(Reason.LIMIT_EXCEEDED, message);
    }
}
