package io.stratus.agent.command;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One lock per instance (striped: a fixed set, two instances may share one): commands, guest
 * exits and move completions of one instance take turns; different instances run side by side.
 */
final class InstanceLocks {
    private static final int STRIPES = 64;
    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

    InstanceLocks() {
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    <T> T with(String instanceId, Supplier<T> action) {
        ReentrantLock lock = locks[Math.floorMod(instanceId.hashCode(), STRIPES)];
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    void with(String instanceId, Runnable action) {
        with(instanceId, () -> {
            action.run();
            return null;
        });
    }
}
