package io.stratus.scheduler.metadata;

/** What a metadata path answers: a document, or the guest's password, which it may also set. */
public sealed interface MetadataAnswer {
    /** A document or listing, and its media type. */
    record Content(byte[] body, String contentType) implements MetadataAnswer {
    }

    /** {@code /openstack/<version>/password}: GET reads the guest's password, POST sets it once. */
    record Password() implements MetadataAnswer {
    }
}
