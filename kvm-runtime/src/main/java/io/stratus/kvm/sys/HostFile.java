package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
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

    /** Most buffers one preadv/pwritev takes (Linux's IOV_MAX). */
    public static final int MAX_SEGMENTS = 1024;

    /**
     * Reads into {@code count} host buffers ({@code addresses[i]}, {@code lengths[i]}) from file
     * {@code offset} with as few preadv calls as the kernel allows. Bytes past the end of the
     * file read as zero. The caller guarantees the buffers are mapped and writable.
     */
    public void readVectored(long[] addresses, long[] lengths, int count, long offset) throws IOException {
        transfer(addresses, lengths, count, offset, false);
    }

    /** Writes {@code count} host buffers at file {@code offset} (pwritev until all is written). */
    public void writeVectored(long[] addresses, long[] lengths, int count, long offset) throws IOException {
        transfer(addresses, lengths, count, offset, true);
    }

    private void transfer(long[] addresses, long[] lengths, int count, long offset, boolean write)
            throws IOException {
        long[] base = addresses.clone();
        long[] left = lengths.clone();
        int first = 0;
        Memory iov = new Memory(16L * Math.max(1, Math.min(count, MAX_SEGMENTS)));
        while (first < count) {
            int n = Math.min(count - first, MAX_SEGMENTS);
            for (int i = 0; i < n; i++) {
                iov.setLong(16L * i, base[first + i]);
                iov.setLong(16L * i + 8, left[first + i]);
            }
            long done;
            try {
                // Safe because: every iovec names guest RAM the caller validated, mapped until the VM closes.
                done = write ? LibC.pwritev(fd(), iov, n, offset) : LibC.preadv(fd(), iov, n, offset);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                throw new IOException((write ? "pwritev" : "preadv") + ": " + Errno.describe(e.getErrorCode()));
            }
            if (done == 0 && write) {
                throw new IOException("pwritev wrote nothing at offset " + offset);
            }
            if (done == 0) {
                // End of file: what is left reads as zero.
                for (int i = first; i < count; i++) {
                    new Pointer(base[i]).setMemory(0, left[i], (byte) 0);
                }
                return;
            }
            offset += done;
            while (first < count && done >= left[first]) {
                done -= left[first];
                first++;
            }
            if (first < count) {
                base[first] += done;
                left[first] -= done;
            }
        }
    }

    /** fdatasync(2). */
    public void sync() throws IOException {
        try {
            LibC.fdatasync(fd());
        } catch (LastErrorException e) {
            throw new IOException("fdatasync: " + Errno.describe(e.getErrorCode()));
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
