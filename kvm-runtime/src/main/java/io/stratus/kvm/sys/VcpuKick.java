package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * Gets a vCPU thread out of {@code KVM_RUN} from another thread, without a signal handler.
 *
 * <p>The vCPU thread blocks a real-time signal for itself but unblocks it for the duration of
 * {@code KVM_RUN} ({@code KVM_SET_SIGNAL_MASK}). A kick is a {@code tgkill} of that signal: inside
 * the guest it makes {@code KVM_RUN} return EINTR; outside it stays pending, so the next
 * {@code KVM_RUN} returns at once. Either way no kick is lost, and since the signal is never
 * unblocked in user space no handler runs: the vCPU thread takes it back with
 * {@code sigtimedwait}. The JDK uses no real-time signal near SIGRTMIN (its NIO interrupt signal is
 * SIGRTMAX-2).
 */
public final class VcpuKick {
    private static final int SIGNAL = LibC.__libc_current_sigrtmin() + 4;

    private final int pid;
    private final int tid;
    private final Memory signalSet;
    /** A zero timespec for {@link #consume()}, made once: that runs on every kicked exit, pauses included. */
    private final Memory zeroTimeout = new Memory(16);
    private boolean retired;

    private VcpuKick(int pid, int tid, Memory signalSet) {
        this.pid = pid;
        this.tid = tid;
        this.signalSet = signalSet;
        zeroTimeout.clear();
    }

    /**
     * Prepares the calling thread, which must be the one that runs {@code vcpu}, and returns the
     * handle other threads kick it with.
     */
    public static VcpuKick prepareCurrentThread(VcpuFd vcpu) {
        Memory set = new Memory(LibC.SIGSET_BYTES);
        LibC.sigemptyset(set);
        LibC.sigaddset(set, SIGNAL);
        Memory old = new Memory(LibC.SIGSET_BYTES);
        int rc = LibC.pthread_sigmask(LibC.SIG_BLOCK, set, old);
        if (rc != 0) {
            throw new KvmException("pthread_sigmask", rc);
        }
        long blockedOutside = old.getLong(0) | (1L << (SIGNAL - 1));
        vcpu.setSignalMask(blockedOutside & ~(1L << (SIGNAL - 1)));
        int tid;
        try {
            tid = (int) LibC.syscall(LibC.SYS_GETTID, 0, 0, 0);
        } catch (LastErrorException e) {
            throw new KvmException("gettid", e.getErrorCode());
        }
        return new VcpuKick(LibC.getpid(), tid, set);
    }

    /** Makes the vCPU thread leave (or not enter) {@code KVM_RUN}. Any thread may call it. */
    public synchronized void kick() {
        if (retired) {
            return;
        }
        try {
            LibC.syscall(LibC.SYS_TGKILL, pid, tid, SIGNAL);
        } catch (LastErrorException e) {
            // ESRCH: the thread has ended, so there is nothing left to kick.
            if (e.getErrorCode() != 3) {
                throw new KvmException("tgkill", e.getErrorCode());
            }
        }
    }

    /**
     * On the vCPU thread, before it ends: no kick is sent after this, and a pending one is taken
     * back. The JVM restores a thread's original signal mask as the thread exits, which would
     * deliver a pending kick to a thread without a handler and terminate the process.
     */
    public void retire() {
        synchronized (this) {
            retired = true;
        }
        consume();
    }

    /**
     * On the vCPU thread, after {@code KVM_RUN} returned EINTR: takes back every pending kick.
     * Real-time signals queue, so several kicks sent while the thread was busy are several
     * pending signals; all of them go.
     */
    public void consume() {
        while (true) {
            try {
                LibC.sigtimedwait(signalSet, null, zeroTimeout);
            } catch (LastErrorException e) {
                // EAGAIN: none left (or none was pending: the exit had another cause).
                if (e.getErrorCode() == Errno.EAGAIN) {
                    return;
                }
                if (e.getErrorCode() != Errno.EINTR) {
                    throw new KvmException("sigtimedwait", e.getErrorCode());
                }
            }
        }
    }
}
