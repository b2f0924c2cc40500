package io.stratus.kvm.virtio.rng;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.virtio.ChainLoop;
import io.stratus.kvm.virtio.DescriptorChain;
import io.stratus.kvm.virtio.GuestSegments;
import io.stratus.kvm.virtio.QueueWorker;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioDevice;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * virtio-rng, the entropy device (type 4): the guest makes device-writable buffers available on
 * its one queue and gets them back filled from the host's kernel random source
 * ({@code /dev/urandom}, never blocking). Without it a guest whose CPU offers no RDRAND waits for
 * entropy at boot (key generation, {@code getrandom}). A request gets at most
 * {@link #MAX_REQUEST_BYTES}; the driver asks again for more. A chain with device-readable buffers
 * breaks the spec and comes back empty. With a {@link #limit(Optional) rate limit}, a request waits
 * for its allowance; one that is waiting when the device pauses or resets comes back empty.
 */
public final class VirtioRng implements VirtioDevice {
    /** The most bytes one request is given (Linux asks for 64 at a time). */
    public static final int MAX_REQUEST_BYTES = 64 << 10;
    private static final System.Logger LOG = System.getLogger(VirtioRng.class.getName());
    private static final int DEVICE_TYPE = 4;
    private static final int QUEUE_SIZE = 64;
    private static final int CHUNK = 4096;
    /** The longest a request waiting for its allowance sleeps before it looks whether the device stops. */
    private static final long MAX_WAIT_NANOS = 20_000_000;

    private final String name;
    private final SecureRandom random;
    private final AtomicLong bytesServed = new AtomicLong();
    private GuestMemory memory;
    private VirtQueue queue;
    private EventFd notifier;
    private VirtioInterrupt interrupt;
    private Runnable needsReset;
    private QueueWorker worker;
    /** Null: no limit. Replaced whole, read by the device thread. */
    private volatile TokenBucket allowance;
    private volatile boolean stopping;

    public VirtioRng(String name) {
        this.name = name;
        this.random = hostRandom();
    }

    private static SecureRandom hostRandom() {
        try {
            return SecureRandom.getInstance("NativePRNGNonBlocking");
        } catch (NoSuchAlgorithmException e) {
            // Not a Linux JDK's provider set: the default is the platform's strong source too.
            return new SecureRandom();
        }
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.RING_EVENT_IDX;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int queueMaxSize() {
        return QUEUE_SIZE;
    }

    @Override
    public void readConfig(long offset, ByteBuffer data) {
        // The entropy device has no configuration space.
        VirtioDevice.readConfigBytes(new byte[0], offset, data);
    }

    @Override
    public void writeConfig(long offset, ByteBuffer data) {
    }

    /**
     * Limits how fast the guest is served from now on; empty lifts the limit. The limit is the
     * host's policy, not part of the guest's machine: snapshots and migrations do not carry it.
     */
    public void limit(Optional<EntropyRate> rate) {
        allowance = rate.map(r -> new TokenBucket(r, System::nanoTime)).orElse(null);
    }

    /** Random bytes given to the guest so far. */
    public long bytesServed() {
        return bytesServed.get();
    }

    @Override
    public synchronized void activate(GuestMemory guestMemory, long ackedFeatures, List<VirtQueue> queues,
                                      List<EventFd> notifiers, VirtioInterrupt irq, Runnable reset) {
        this.memory = guestMemory;
        this.queue = queues.get(0);
        this.notifier = notifiers.get(0);
        this.interrupt = irq;
        this.needsReset = reset;
        start();
    }

    private void start() {
        if (queue != null && queue.isReady()) {
            worker = QueueWorker.start(name + "-q0", notifier,
                    () -> ChainLoop.serve(name, queue, memory, interrupt, needsReset, this::fill));
        }
    }

    private void stop() {
        if (worker != null) {
            stopping = true;
            worker.stop();
            worker = null;
            stopping = false;
        }
    }

    /** Waits for up to {@code wanted} bytes of allowance; 0 if the device stops meanwhile. */
    private long allowed(TokenBucket bucket, long wanted) {
        while (!stopping) {
            long granted = bucket.take(wanted);
            if (granted > 0) {
                return granted;
            }
            LockSupport.parkNanos(Math.min(bucket.nanosUntil(wanted), MAX_WAIT_NANOS));
        }
        return 0;
    }

    private int fill(DescriptorChain chain) {
        if (chain.readableBytes() > 0) {
            LOG.log(Level.DEBUG, "{0}: request {1} has device-readable buffers; returned empty", name,
                    chain.head());
            return 0;
        }
        GuestSegments out = GuestSegments.of(chain, true);
        out = out.range(0, Math.min(out.length(), MAX_REQUEST_BYTES));
        TokenBucket bucket = allowance;
        if (bucket != null && out.length() > 0) {
            // What the guest may not have yet, it waits for; a stopping device answers empty, and
            // the driver asks again once it runs.
            out = out.range(0, allowed(bucket, out.length()));
        }
        byte[] bytes = new byte[(int) Math.min(CHUNK, out.length())];
        int written = 0;
        for (GuestSegments.Segment s : out.segments()) {
            for (int done = 0; done < s.length(); ) {
                int n = Math.min(bytes.length, s.length() - done);
                random.nextBytes(bytes);
                memory.write(s.address().add(done), bytes, 0, n);
                done += n;
            }
            written += s.length();
        }
        bytesServed.addAndGet(written);
        return written;
    }

    @Override
    public synchronized void reset() {
        stop();
        queue = null;
    }

    @Override
    public synchronized void pause() {
        stop();
    }

    @Override
    public synchronized void resume() {
        if (worker == null) {
            start();
        }
    }
}
