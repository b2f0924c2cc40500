package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * A Linux eventfd: the doorbell between KVM and device threads (irqfd for interrupts into the
 * guest, ioeventfd for guest notifications out of it).
 */
public final class EventFd extends NativeFd {
    private EventFd(int fd) {
        super(fd);
    }

    /** A new eventfd with counter 0; {@code nonBlocking} makes {@link #read()} return 0 instead of waiting. */
    public static EventFd create(boolean nonBlocking) {
        try {
            return new EventFd(LibC.eventfd(0, LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0)));
        } catch (LastErrorException e) {
            throw new KvmException("eventfd", e.getErrorCode());
        }
    }

    /** Adds {@code value} to the counter, waking a reader (or injecting the interrupt of an irqfd). */
    public void write(long value) {
        Memory buf = new Memory(8);
        buf.setLong(0, value);
        try {
            LibC.write(fd(), buf, 8);
        } catch (LastErrorException e) {
            throw new KvmException("eventfd write", e.getErrorCode());
        }
    }

    /** Takes the counter and resets it to 0; 0 when non-blocking and nothing was signalled. */
    public long read() {
        Memory buf = new Memory(8);
        try {
            LibC.read(fd(), buf, 8);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EAGAIN) {
                return 0;
            }
            throw new KvmException("eventfd read", e.getErrorCode());
        }
        return buf.getLong(0);
    }
}
