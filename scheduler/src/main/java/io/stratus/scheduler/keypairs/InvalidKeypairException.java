package io.stratus.scheduler.keypairs;

/** Key material that is not what its type needs (Nova's InvalidKeypair); the message says what is wrong. */
public final class InvalidKeypairException extends IllegalArgumentException {
    InvalidKeypairException(String reason) {
        super(reason);
    }

    InvalidKeypairException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
