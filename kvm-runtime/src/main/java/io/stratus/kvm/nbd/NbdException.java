package io.stratus.kvm.nbd;

import java.io.IOException;

/**
 * The NBD server refused something (an option in the handshake, or one request), or said what is
 * not NBD. The connection may still be usable after a refused request ({@link #connectionLost()}
 * says whether it is not).
 */
public final class NbdException extends IOException {
    private final boolean connectionLost;

    NbdException(String message, boolean connectionLost) {
        super(message);
        this.connectionLost = connectionLost;
    }

    /** Whether the connection is gone: every later request fails too. */
    public boolean connectionLost() {
        return connectionLost;
    }
}
