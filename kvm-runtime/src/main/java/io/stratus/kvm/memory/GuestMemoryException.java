package io.stratus.kvm.memory;

import io.stratus.kvm.VmmException;

/** An access outside guest RAM, or across the boundary of a RAM region. */
public final class GuestMemoryException extends VmmException {
    public GuestMemoryException(String message) {
        super(message);
    }
}
