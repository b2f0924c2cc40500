package io.stratus.kvm.vcpu;

/**
 * Where vCPU threads wait while their VM is paused. The owner closes the gate, kicks every vCPU
 * out of the guest and waits until all of them stand at the gate; then vCPU state can be read or
 * written from any thread. Opening the gate lets them back into the guest.
 */
public final class PauseGate {
    private final int vcpus;
    private boolean closed;
    private boolean released;
    private int waiting;

    public PauseGate(int vcpus) {
        this.vcpus = vcpus;
    }

    /** On a vCPU thread, before entering the guest: waits while the gate is closed. */
    public synchronized void pass() throws InterruptedException {
        if (!closed || released) {
            return;
        }
        waiting++;
        notifyAll();
        try {
            while (closed && !released) {
                wait();
            }
        } finally {
            waiting--;
            notifyAll();
        }
    }

    /** Closes the gate; {@link #awaitAll} then waits for the vCPUs to arrive. */
    public synchronized void close() {
        closed = true;
    }

    /**
     * Waits until every vCPU thread waits at the gate, calling {@code kick} between checks (a
     * vCPU may have been entering the guest when the gate closed). Returns false on timeout.
     */
    public boolean awaitAll(Runnable kick, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        // A vCPU running guest code leaves it only when kicked: kick before the first wait, not after.
        kick.run();
        while (true) {
            synchronized (this) {
                if (waiting == vcpus) {
                    return true;
                }
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                wait(Math.min(left, 50));
            }
            kick.run();
        }
    }

    /** Opens the gate: waiting vCPUs go back into the guest. */
    public synchronized void open() {
        closed = false;
        notifyAll();
    }

    /** Lets every vCPU through for good (the VM is ending). */
    public synchronized void release() {
        released = true;
        notifyAll();
    }

    public synchronized boolean isClosed() {
        return closed;
    }
}
