package io.stratus.kvm.memory;

import io.stratus.kvm.VmmException;

/** The host would not say where guest pages are (for example: not root, or no /proc/kpageflags). */
public final class MemoryAccountingException extends VmmException {
    public MemoryAccountingException(String message) {
        super(message);
    }

    public MemoryAccountingException(String message, Throwable cause) {
        super(message, cause);
    }
}
