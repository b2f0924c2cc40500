package io.stratus.kvm.vm;

import io.stratus.kvm.vcpu.Vcpu;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Finds a guest that halted every vCPU with interrupts disabled (it can never run again): every
 * {@link #INTERVAL} while the VM runs, each vCPU is asked whether it sits in such a halt, and
 * when all answer yes the VM ends the run.
 *
 * <p>Shares the VM's lock ({@code lock}): paused vCPUs wait at the gate and cannot answer, so the
 * probe skips while the VM is not running, read under the lock the VM moves its lifecycle under.
 */
final class HaltProbe {
    static final Duration INTERVAL = Duration.ofSeconds(1);

    private final String vmName;
    private final Object lock;
    private final List<Vcpu> vcpus;
    private final Future<?> exit;
    private final Supplier<VirtualMachine.State> vmState;
    /** Each vCPU's last answer. Guarded by {@code lock}. */
    private boolean[] stuck;

    HaltProbe(String vmName, Object lock, List<Vcpu> vcpus, Future<?> exit, Supplier<VirtualMachine.State> vmState) {
        this.vmName = vmName;
        this.lock = lock;
        this.vcpus = vcpus;
        this.exit = exit;
        this.vmState = vmState;
    }

    /** Starts probing, until the run ends; call once, under {@code lock}, as the vCPUs start. */
    void start() {
        stuck = new boolean[vcpus.size()];
        Thread t = new Thread(this::watch, vmName + "-halt-watch");
        t.setDaemon(true);
        t.start();
    }

    /** Records vCPU {@code vcpu}'s answer; true when every vCPU's last answer is "stuck". */
    boolean probed(int vcpu, boolean isStuck) {
        synchronized (lock) {
            stuck[vcpu] = isStuck;
            boolean all = true;
            for (boolean s : stuck) {
                all &= s;
            }
            return all;
        }
    }

    private void watch() {
        try {
            while (!exit.isDone()) {
                try {
                    exit.get(INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    synchronized (lock) {
                        if (vmState.get() != VirtualMachine.State.RUNNING) {
                            // Paused vCPUs wait at the gate and cannot answer; nothing to probe.
                            continue;
                        }
                        Arrays.fill(stuck, false);
                    }
                    for (Vcpu v : vcpus) {
                        v.probeHalted();
                    }
                } catch (ExecutionException e) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
