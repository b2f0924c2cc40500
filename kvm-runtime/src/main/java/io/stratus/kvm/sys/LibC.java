package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * Direct JNA mapping of the libc calls the VMM makes. Every method that can fail declares
 * {@link LastErrorException} so that errno is captured on the calling thread, right after
 * the call.
 */
final class LibC {
    static {
        Native.register(NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    static final int O_RDONLY = 0x0;
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;

    static final int F_OFD_SETLK = 37;
    static final short F_RDLCK = 0;
    static final short F_WRLCK = 1;
    static final int O_CLOEXEC = 0x80000;

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int MAP_FIXED = 0x10;

    static final int MADV_DONTNEED = 4;
    static final int MADV_MERGEABLE = 12;
    static final int MADV_UNMERGEABLE = 13;
    static final int MADV_DONTDUMP = 16;

    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;

    static final int SIG_BLOCK = 0;
    static final int SIG_UNBLOCK = 1;

    static final long SYS_GETTID = 186;
    static final long SYS_TGKILL = 234;

    /** glibc's sigset_t is 1024 bits; the kernel's is the first 64. */
    static final int SIGSET_BYTES = 128;

    private LibC() {
    }

    static native int open(String path, int flags) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int ioctl(int fd, long request, long arg) throws LastErrorException;

    static native int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    static native Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    static native int munmap(Pointer addr, long length) throws LastErrorException;

    static native int mincore(Pointer addr, long length, Pointer vec) throws LastErrorException;

    static native int madvise(Pointer addr, long length, int advice) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

    static native int fcntl(int fd, int cmd, Pointer arg) throws LastErrorException;

    static native long preadv(int fd, Pointer iov, int iovcnt, long offset) throws LastErrorException;

    static native long pwritev(int fd, Pointer iov, int iovcnt, long offset) throws LastErrorException;

    static native int fdatasync(int fd) throws LastErrorException;

    static native long readv(int fd, Pointer iov, int iovcnt) throws LastErrorException;

    static native long writev(int fd, Pointer iov, int iovcnt) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native int socketpair(int domain, int type, int protocol, int[] sv) throws LastErrorException;

    static native int setns(int fd, int nstype) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    /** Returns an error number instead of setting errno. */
    static native int pthread_sigmask(int how, Pointer set, Pointer oldset);

    static native int sigemptyset(Pointer set);

    static native int sigaddset(Pointer set, int signum);

    static native int sigtimedwait(Pointer set, Pointer info, Pointer timeout) throws LastErrorException;

    static native long syscall(long number, long a1, long a2, long a3) throws LastErrorException;

    static native int getpid();

    static native String strerror(int errnum);

    static native int __libc_current_sigrtmin();
}
