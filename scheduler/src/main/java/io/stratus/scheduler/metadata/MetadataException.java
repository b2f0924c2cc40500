package io.stratus.scheduler.metadata;

/** Why the metadata service cannot answer; the API's edge turns the kind into its status. */
public final class MetadataException extends RuntimeException {
    /** The ways a metadata request fails, each as Nova's handler fails it. */
    public enum Kind {
        /** No shared secret is configured: nothing a proxy says can be trusted. */
        NOT_CONFIGURED,
        /** A header is missing or given twice, or a posted password is too long. */
        BAD_REQUEST,
        /** The instance id's signature does not match. */
        FORBIDDEN,
        /** No such instance (or not the project's), or no such path. */
        NOT_FOUND,
        /** The guest's password is set already. */
        CONFLICT
    }

    private final Kind kind;

    public MetadataException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    static MetadataException notFound(String what) {
        return new MetadataException(Kind.NOT_FOUND, what);
    }
}
