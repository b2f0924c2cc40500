package io.stratus.agent.bus;

import java.time.Duration;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Keeps the host's command loop running: a loop that ends with an error (a bug, a broker client
 * that broke) is started again with a fresh consumer after a pause that grows with each failure
 * in a row; its uncommitted records come again. Liveness fails once it keeps failing.
 */
public final class CommandLoop {
    private static final Logger LOG = Logger.getLogger(CommandLoop.class);
    /** Failures in a row after which the loop counts as unable to run (liveness fails). */
    static final int DEAD_AFTER = 5;
    private static final Duration LONGEST_PAUSE = Duration.ofSeconds(30);

    private final Supplier<CommandConsumer> consumers;
    private final String name;
    private final Duration firstPause;
    private volatile CommandConsumer current;
    private volatile boolean stopping;
    private volatile int failuresInARow;
    private volatile String lastFailure = "";
    private volatile int restarts;
    private volatile boolean pausing;
    private Thread thread;

    /** @param consumers makes a fresh loop (with a fresh broker consumer) for each start */
    public CommandLoop(Supplier<CommandConsumer> consumers, String name) {
        this(consumers, name, Duration.ofMillis(500));
    }

    CommandLoop(Supplier<CommandConsumer> consumers, String name, Duration firstPause) {
        this.consumers = consumers;
        this.name = name;
        this.firstPause = firstPause;
    }

    public synchronized void start() {
        thread = new Thread(this::supervise, name);
        thread.start();
    }

    private void supervise() {
        while (!stopping) {
            CommandConsumer loop;
            try {
                loop = consumers.get();
            } catch (RuntimeException e) {
                failed(e);
                continue;
            }
            current = loop;
            try {
                loop.run();
                if (!stopping) {
                    failed(new IllegalStateException("the command loop returned while it should run"));
                }
            } catch (RuntimeException | Error e) {
                if (loop.polled()) {
                    failuresInARow = 0;
                }
                failed(e);
            }
        }
    }

    private void failed(Throwable e) {
        failuresInARow++;
        lastFailure = e.toString();
        Duration pause = firstPause.multipliedBy(1L << Math.min(failuresInARow - 1, 6));
        pause = pause.compareTo(LONGEST_PAUSE) > 0 ? LONGEST_PAUSE : pause;
        LOG.errorf(e, "%s failed (%d in a row); starting it again in %d ms", name, failuresInARow, pause.toMillis());
        restarts++;
        pausing = true;
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException ie) {
            stopping = true;
        } finally {
            pausing = false;
        }
    }

    /** Whether a loop runs and has polled the broker (readiness). */
    public boolean healthy() {
        CommandConsumer c = current;
        return !stopping && c != null && c.healthy();
    }

    /** Whether the loop can run: false once it failed {@link #DEAD_AFTER} times in a row (liveness). */
    public boolean alive() {
        return failuresInARow < DEAD_AFTER;
    }

    public int restarts() {
        return restarts;
    }

    public String lastFailure() {
        return lastFailure;
    }

    /** Ends the loop after the record in hand and waits for it up to {@code wait}. */
    public void stop(Duration wait) throws InterruptedException {
        stopping = true;
        CommandConsumer c = current;
        if (c != null) {
            c.stop();
        }
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            if (pausing) {
                // Only a pause between two runs is cut short: a command in hand finishes.
                t.interrupt();
            }
            t.join(wait.toMillis());
        }
    }
}
