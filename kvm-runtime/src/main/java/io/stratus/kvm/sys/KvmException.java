package io.stratus.kvm.sys;

import io.stratus.kvm.VmmException;

/**
 * A KVM or libc call failed. Carries the operation and the errno so that callers can tell
 * a missing capability from a guest or configuration problem.
 */
public class KvmException extends VmmException {
    private final String operation;
    private final int errno;

    public KvmException(String operation, int errno) {
        super(operation + " failed: " + Errno.describe(errno));
        this.operation = operation;
        this.errno = errno;
    }

    public KvmException(String message) {
        super(message);
        this.operation = "";
        this.errno = 0;
    }

    /** The ioctl or libc call that failed, for example {@code KVM_CREATE_VM}. */
    public String operation() {
        return operation;
    }

    /** The errno it failed with, or 0 where the failure was not a system call's. */
    public int errno() {
        return errno;
    }
}
