package io.stratus.kvm.virtio;

import io.stratus.kvm.sys.EventFd;
import java.lang.System.Logger.Level;

/**
 * The I/O thread of one virtqueue: sleeps on the queue's notification eventfd (which KVM signals
 * without leaving the kernel when the guest writes QueueNotify) and runs the device's handler on
 * each wake-up.
 */
public final class QueueWorker {
    private static final System.Logger LOG = System.getLogger(QueueWorker.class.getName());

    private final EventFd notifier;
    private final Runnable handler;
    private final Thread thread;
    private volatile boolean running = true;

    private QueueWorker(String name, EventFd notifier, Runnable handler) {
        this.notifier = notifier;
        this.handler = handler;
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
    }

    /** Starts a worker that runs {@code handler} once now and then after every notification. */
    public static QueueWorker start(String name, EventFd notifier, Runnable handler) {
        QueueWorker w = new QueueWorker(name, notifier, handler);
        w.thread.start();
        return w;
    }

    private void loop() {
        try {
            // Chains made available before the worker started (or restored from a snapshot) are served too.
            handler.run();
            while (running) {
                notifier.read();
                if (!running) {
                    break;
                }
                handler.run();
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, thread.getName() + " stopped: " + e, e);
        }
    }

    /** Stops the worker and waits for it; the handler is not running when this returns. */
    public void stop() {
        running = false;
        notifier.write(1);
        joinUninterruptibly(thread);
    }

    /**
     * Waits for a device thread to end even if this thread is interrupted meanwhile (the
     * interrupt is kept for the caller): what the device thread touches, guest memory among it,
     * must not be released while it still runs.
     */
    public static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
