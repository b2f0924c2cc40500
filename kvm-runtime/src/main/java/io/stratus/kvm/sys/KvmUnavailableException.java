package io.stratus.kvm.sys;

/** /dev/kvm cannot be used on this host: missing, not accessible, or lacking a capability. */
public final class KvmUnavailableException extends KvmException {
    public KvmUnavailableException(String message) {
        super(message);
    }
}
