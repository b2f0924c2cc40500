package io.stratus.local.pki;

/** The CA's files cannot be read, written or trusted, or a certificate cannot be made. */
public final class PkiException extends RuntimeException {
    PkiException(String message, Throwable cause) {
        super(message, cause);
    }

    PkiException(String message) {
        super(message);
    }
}
