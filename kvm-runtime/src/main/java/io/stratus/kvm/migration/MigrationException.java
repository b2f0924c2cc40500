package io.stratus.kvm.migration;

import io.stratus.kvm.VmmException;

/**
 * A live migration that failed: the connection broke, the other side refused or reported an
 * error, or the stream was malformed. On the source side the guest is running again on the source
 * when this is thrown; on the target side the target VM holds nothing usable and is to be closed.
 */
public final class MigrationException extends VmmException {
    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
