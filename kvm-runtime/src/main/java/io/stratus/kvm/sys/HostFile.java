package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.file.Path;

/**
 * A descriptor on a host file for what {@link java.nio.channels.FileChannel} cannot do: open-file-
 * description locks ({@code F_OFD_SETLK}, which conflict between two opens in one process, unlike
 * POSIX record locks and Java's {@code FileLock}) and deallocating ranges ({@code fallocate}).
 */
public final class HostFile extends NativeFd {
    private HostFile(int fd) {
        super(fd);
    }

    /** Opens {@code path} read-only or read-write. */
    public static HostFile open(Path path, boolean writable) {
        try {
            return new HostFile(LibC.open(path.toString(), (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC));
        } catch (LastErrorException e) {
            throw new KvmException("open " + path, e.getErrorCode());
        }
    }

    /**
     * Locks the whole file, shared or exclusive, without waiting; returns false if another open
     * of the file holds a conflicting lock. The lock lasts until {@link #close()}.
     */
    public boolean tryLock(boolean shared) {
        Memory flock = new Memory(32);
        flock.clear();
        flock.setShort(0, shared ? LibC.F_RDLCK : LibC.F_WRLCK);
        flock.setShort(2, (short) 0); // SEEK_SET; l_start = 0, l_len = 0: the whole file
        try {
            LibC.fcntl(fd(), LibC.F_OFD_SETLK, flock);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EAGAIN || e.getErrorCode() == Errno.EACCES) {
                return false;
            }
            throw new KvmException("fcntl(F_OFD_SETLK)", e.getErrorCode());
        }
    }

    /**
     * Deallocates {@code [offset, offset + length)}: reads return zeros afterwards, the file size
     * stays. Returns false where the file system cannot (the caller then writes zeros).
     */
    public boolean punchHole(long offset, long length) {
        try {
            LibC.fallocate(fd(), LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }
}
