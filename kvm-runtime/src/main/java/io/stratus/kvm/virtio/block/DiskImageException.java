package io.stratus.kvm.virtio.block;

import io.stratus.kvm.VmmException;

/** A disk image that cannot be attached: missing, unreadable, too small, or locked by another guest. */
public final class DiskImageException extends VmmException {
    public DiskImageException(String message) {
        super(message);
    }
}
