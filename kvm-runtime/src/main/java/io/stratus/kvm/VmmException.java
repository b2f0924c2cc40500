package io.stratus.kvm;

/**
 * Base of every error the VMM reports. Messages are written for the person running the guest:
 * they say what was wrong and, where it helps, what to do about it.
 */
public class VmmException extends RuntimeException {
    public VmmException(String message) {
        super(message);
    }

    public VmmException(String message, Throwable cause) {
        super(message, cause);
    }
}
