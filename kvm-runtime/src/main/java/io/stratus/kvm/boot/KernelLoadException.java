package io.stratus.kvm.boot;

import io.stratus.kvm.VmmException;

/** A kernel or initrd that cannot be loaded: missing, unreadable, malformed, or too big for the guest. */
public final class KernelLoadException extends VmmException {
    public KernelLoadException(String message) {
        super(message);
    }

    public KernelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
