package io.stratus.kvm.devices;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The iBASE IB700 single-board computer's watchdog, as Linux's {@code ib700wdt} and QEMU's
 * {@code ib700} see it: a write to port 0x443 starts the timer, or feeds it, with the timeout its
 * low 4 bits pick from the board's table (30 s at 0 down to 0 s at 15, 2 s apart); a write to
 * port 0x441 stops it. When the timer runs out the device tells its owner once and stands
 * disarmed, as QEMU's does: the owner takes the action (reset, power-off, pause), not the device.
 *
 * <p>The timer counts while the guest runs only: {@link #suspend} (the VM paused) stops it and
 * {@link #resume} starts it again with its whole timeout, as a feed would. A snapshot does not
 * keep it; a restored guest's watchdog is disarmed until the guest writes 0x443 again.
 */
public final class Ib700Watchdog implements BusDevice {
    public static final int STOP_PORT = 0x441;
    public static final int START_PORT = 0x443;

    /** Where the device's timeouts run: a seam, so that tests fire them without waiting. */
    public interface Timer {
        /** Runs {@code task} once after {@code delay} unless the returned handle is cancelled first. */
        Cancellable schedule(Duration delay, Runnable task);

        /** The timer of one daemon thread, named {@code name}. */
        static Timer ofThread(String name) {
            ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            return new Timer() {
                @Override
                public Cancellable schedule(Duration delay, Runnable task) {
                    ScheduledFuture<?> f = executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
                    return () -> f.cancel(false);
                }

                @Override
                public void close() {
                    executor.shutdownNow();
                }
            };
        }

        /** Lets go of the timer's thread; nothing scheduled runs afterwards. */
        default void close() {
        }
    }

    /** A scheduled timeout that can be called off. */
    public interface Cancellable {
        void cancel();
    }

    private final Timer timer;
    private final Runnable onExpiry;
    private Optional<Cancellable> pending = Optional.empty();
    private Optional<Duration> armed = Optional.empty();
    private boolean suspended;
    private long generation;

    /**
     * @param onExpiry told when the guest let the timer run out; called on the timer's thread,
     *                 which it must not keep
     */
    public Ib700Watchdog(Timer timer, Runnable onExpiry) {
        this.timer = timer;
        this.onExpiry = onExpiry;
    }

    /** The timeout a value written to 0x443 sets: the board's table, 30 s down to 0 s. */
    public static Duration timeoutOf(int value) {
        return Duration.ofSeconds(30 - 2L * (value & 0xf));
    }

    /** Unwired ISA ports float high; the driver reads nothing back. */
    @Override
    public void read(long offset, ByteBuffer data) {
        Serial8250.fill(data, 0xff);
    }

    /**
     * A write at {@code offset} from {@link #STOP_PORT}: 0 stops the timer, 2 (port 0x443) starts
     * or feeds it; the bus routes nothing else here.
     */
    @Override
    public void write(long offset, ByteBuffer data) {
        if (offset == START_PORT - STOP_PORT) {
            arm(timeoutOf(data.get(data.position())));
        } else if (offset == 0) {
            disarm();
        }
    }

    /** Whether the timer runs (armed and not run out), for tests and the VM's state. */
    public synchronized boolean armed() {
        return armed.isPresent();
    }

    private synchronized void arm(Duration timeout) {
        armed = Optional.of(timeout);
        schedule();
    }

    private synchronized void disarm() {
        armed = Optional.empty();
        cancel();
    }

    /** The VM paused: the timer stops counting. */
    public synchronized void suspend() {
        suspended = true;
        cancel();
    }

    /** The VM runs again: an armed timer starts again with its whole timeout. */
    public synchronized void resume() {
        suspended = false;
        schedule();
    }

    /** The VM is gone: nothing fires any more and the timer's thread ends. */
    public synchronized void close() {
        disarm();
        timer.close();
    }

    private void schedule() {
        cancel();
        if (armed.isEmpty() || suspended) {
            return;
        }
        long mine = ++generation;
        pending = Optional.of(timer.schedule(armed.get(), () -> expire(mine)));
    }

    private void cancel() {
        generation++;
        pending.ifPresent(Cancellable::cancel);
        pending = Optional.empty();
    }

    private void expire(long scheduled) {
        synchronized (this) {
            // A feed, stop or pause after the timeout was scheduled wins over it.
            if (scheduled != generation) {
                return;
            }
            armed = Optional.empty();
            pending = Optional.empty();
        }
        onExpiry.run();
    }
}
