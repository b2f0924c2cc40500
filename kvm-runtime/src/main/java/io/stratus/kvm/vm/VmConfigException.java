package io.stratus.kvm.vm;

import io.stratus.kvm.VmmException;

/** A {@link VmConfig} the host cannot run: out-of-range values, or more than the host can give. */
public final class VmConfigException extends VmmException {
    public VmConfigException(String message) {
        super(message);
    }
}
