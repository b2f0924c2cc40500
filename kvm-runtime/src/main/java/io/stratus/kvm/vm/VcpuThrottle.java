package io.stratus.kvm.vm;

import io.stratus.kvm.vcpu.PauseGate;
import io.stratus.kvm.vcpu.Vcpu;
import java.util.List;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Slows a running guest down for a live migration whose guest dirties memory faster than the link
 * carries it: a thread holds the vCPUs out of the guest (at the pause gate) for a share of every
 * {@link #INTERVAL_MILLIS}; devices keep running and guest time goes on.
 *
 * <p>Shares the VM's lock ({@code lock}), under which the VM moves its lifecycle: the gate is only
 * closed and opened here while the VM is running, so a pause or the end of the run is never undone.
 */
final class VcpuThrottle {
    /** Throttling holds the vCPUs out of the guest for a share of every interval this long. */
    static final long INTERVAL_MILLIS = 100;

    private final String vmName;
    private final Object lock;
    private final PauseGate gate;
    private final List<Vcpu> vcpus;
    private final Future<?> exit;
    private final Supplier<VirtualMachine.State> vmState;
    private volatile int percent;
    /** Guarded by {@code lock}. */
    private Thread thread;

    /**
     * @param lock      the VM's monitor
     * @param exit      done when the run ends
     * @param vmState   the VM's state (read under {@code lock})
     */
    VcpuThrottle(String vmName, Object lock, PauseGate gate, List<Vcpu> vcpus, Future<?> exit,
                 Supplier<VirtualMachine.State> vmState) {
        this.vmName = vmName;
        this.lock = lock;
        this.gate = gate;
        this.vcpus = vcpus;
        this.exit = exit;
        this.vmState = vmState;
    }

    /**
     * Holds the vCPUs out for {@code percent} of every interval; 0 ends the throttling and returns
     * once the vCPUs are let back in.
     *
     * @param percent 0 to 99
     * @throws IllegalStateException throttling starts on a VM that is not running
     */
    void set(int percent) throws InterruptedException {
        if (percent < 0 || percent > 99) {
            throw new IllegalArgumentException("throttle of " + percent + "%; 0 to 99");
        }
        Thread stopping = null;
        synchronized (lock) {
            this.percent = percent;
            if (percent > 0 && thread == null) {
                VirtualMachine.State now = vmState.get();
                if (now != VirtualMachine.State.RUNNING) {
                    throw new IllegalStateException("VM " + vmName + " is " + now + ", not RUNNING");
                }
                Thread t = new Thread(this::loop, vmName + "-throttle");
                t.setDaemon(true);
                thread = t;
                t.start();
            } else if (percent == 0 && thread != null) {
                stopping = thread;
                thread = null;
            }
        }
        if (stopping != null) {
            stopping.interrupt();
            stopping.join();
        }
    }

    /** The share of time the vCPUs are held out of the guest, in percent (0 when not throttled). */
    int percent() {
        return percent;
    }

    private void loop() {
        Thread self = Thread.currentThread();
        try {
            while (!exit.isDone()) {
                long held = INTERVAL_MILLIS * percent / 100;
                boolean closed = false;
                synchronized (lock) {
                    if (thread != self) {
                        return;
                    }
                    if (vmState.get() == VirtualMachine.State.RUNNING) {
                        gate.close();
                        closed = true;
                    }
                }
                try {
                    if (closed) {
                        // Kicks are never lost: a vCPU entering the guest now leaves it again at once.
                        vcpus.forEach(Vcpu::kick);
                        Thread.sleep(held);
                    }
                } finally {
                    if (closed) {
                        synchronized (lock) {
                            if (vmState.get() == VirtualMachine.State.RUNNING) {
                                gate.open();
                            }
                        }
                    }
                }
                Thread.sleep(INTERVAL_MILLIS - held);
            }
        } catch (InterruptedException e) {
            // Throttling ended: the gate was opened above.
        }
    }
}
