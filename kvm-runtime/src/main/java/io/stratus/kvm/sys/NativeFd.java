package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.util.concurrent.atomic.AtomicBoolean;

/** A file descriptor owned by one object, closed once. */
abstract class NativeFd implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    NativeFd(int fd) {
        this.fd = fd;
    }

    /** The raw descriptor, for registering with KVM (irqfd, ioeventfd). */
    public final int fd() {
        if (closed.get()) {
            throw new IllegalStateException("file descriptor " + fd + " is closed");
        }
        return fd;
    }

    final int ioctl(String name, long request, long arg) {
        try {
            return LibC.ioctl(fd(), request, arg);
        } catch (LastErrorException e) {
            throw new KvmException(name, e.getErrorCode());
        }
    }

    final int ioctl(String name, long request, Pointer arg) {
        try {
            return LibC.ioctl(fd(), request, arg);
        } catch (LastErrorException e) {
            throw new KvmException(name, e.getErrorCode());
        }
    }

    /** Releases what the owner holds beside the descriptor; runs once, before the descriptor closes. */
    void beforeClose() {
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            beforeClose();
            try {
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // Safe to ignore: close(2) releases the descriptor even when it reports an error.
            }
        }
    }
}
