package io.stratus.kvm.snapshot;

import io.stratus.kvm.VmmException;

/** A snapshot that cannot be taken or restored: missing, truncated, corrupt, or from another format version. */
public final class SnapshotException extends VmmException {
    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
