package io.stratus.kvm.persist;

/**
 * Saved state bytes that cannot be read: cut short, a length or count out of bounds, a string
 * that is not UTF-8, or a record's fields that break its rules.
 */
public class StateFormatException extends IllegalArgumentException {
    public StateFormatException(String message) {
        super(message);
    }

    public StateFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The bytes end before the record does. */
    public static final class Truncated extends StateFormatException {
        Truncated(Throwable cause) {
            super("the state ends early: truncated", cause);
        }
    }
}
