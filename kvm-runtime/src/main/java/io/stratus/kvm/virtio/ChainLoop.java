package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestMemory;
import java.lang.System.Logger.Level;

/**
 * The request loop of a device queue whose requests are independent: each available chain goes to
 * the device and back to the driver as used with what the device wrote; the guest is interrupted
 * when the ring asks for it. A broken chain goes back failed (length 0) and the loop goes on; a
 * broken queue stops it and asks for a reset, as the virtio spec lets a device do.
 */
public final class ChainLoop {
    private static final System.Logger LOG = System.getLogger(ChainLoop.class.getName());

    /** What a device does with one chain. */
    @FunctionalInterface
    public interface Handler {
        /** Returns the bytes written into the chain, or -1 to keep it (the device returns it later). */
        int handle(DescriptorChain chain);
    }

    private ChainLoop() {
    }

    /** Serves {@code queue} until the driver has nothing more available; runs on the queue's worker. */
    public static void serve(String device, VirtQueue queue, GuestMemory memory, VirtioInterrupt interrupt,
                             Runnable needsReset, Handler handler) {
        try {
            do {
                int usedBefore = queue.nextUsed();
                DescriptorChain chain;
                while ((chain = queue.popOrReturnBroken(memory,
                        e -> LOG.log(Level.DEBUG, "{0}: {1}", device, e.getMessage()))) != null) {
                    int written = handler.handle(chain);
                    if (written >= 0) {
                        queue.addUsed(memory, chain.head(), written);
                    }
                }
                if (queue.nextUsed() != usedBefore && queue.shouldNotify(memory)) {
                    interrupt.raise(VirtioInterrupt.USED_BUFFER);
                }
            } while (queue.enableNotification(memory));
        } catch (VirtQueueException e) {
            LOG.log(Level.WARNING, "{0}: queue unusable, device needs reset: {1}", device, e.getMessage());
            needsReset.run();
        }
    }
}
